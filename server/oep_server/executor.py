"""run() calls, one at a time on the worker's main thread, bounded by SCORING_TIMEOUT_MS (SIGALRM)."""

import os
import queue
import signal
import threading
import time
import traceback

import oep_debug

from . import EXIT_STUCK_WORKER
from .output import flush_all, write_err


TIMEOUT_GRACE_S = 0.5  # when SIGALRM cannot interrupt run() (stuck in C code), stop waiting after this


class ScoringTimeout(BaseException):
    """Raised into run() by SIGALRM. A BaseException so that `except Exception` in run() cannot swallow it."""


OUTCOME_OK = 0
OUTCOME_ERROR = 1
OUTCOME_TIMEOUT = 2
_alarm_armed = False


def alarm_handler(signum, frame):
    if _alarm_armed:
        if oep_debug.attached():
            # --debug: no timeout while a debugger holds run() (a breakpoint); checked again later.
            signal.setitimer(signal.ITIMER_REAL, oep_debug.RECHECK_S)
            return
        raise ScoringTimeout()


class Job(object):
    __slots__ = ("fn", "kwargs", "done", "started", "outcome", "value", "elapsed_ms", "tb", "abandoned")

    def __init__(self, fn, kwargs):
        self.fn = fn
        self.kwargs = kwargs
        self.done = threading.Lock()
        self.done.acquire()
        self.started = None
        self.outcome = OUTCOME_ERROR
        self.value = None
        self.elapsed_ms = 0.0
        self.tb = None
        self.abandoned = False


class Executor(object):
    """Runs run() calls one at a time on the main thread (azmlinfsrv runs one request per worker)."""

    def __init__(self, timeout_ms, stuck_restart_s=30.0, on_stuck=lambda stuck: None):
        self.timeout_ms = timeout_ms
        self.stuck_restart_s = stuck_restart_s
        self.on_stuck = on_stuck
        self.timeout_s = timeout_ms / 1000.0
        self.jobs = queue.SimpleQueue()
        self.can_alarm = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()

    def submit(self, fn, kwargs):
        """Called from connection threads: queue the call and wait for it (or for the timeout)."""
        job = Job(fn, kwargs)
        self.jobs.put(job)
        limit = self.timeout_s + TIMEOUT_GRACE_S
        wait = limit
        while not job.done.acquire(timeout=min(wait, threading.TIMEOUT_MAX)):
            started = job.started
            if started is None:
                wait = limit  # still queued behind another call: the timeout bounds run() only
                continue
            remaining = started + limit - time.perf_counter()
            if remaining <= 0 and oep_debug.attached():
                wait = oep_debug.RECHECK_S  # --debug: no timeout while a debugger is attached
                continue
            if remaining <= 0:
                # SIGALRM could not interrupt run() (e.g. blocked in C code): answer without it.
                job.abandoned = True
                answer = Job(None, None)
                answer.outcome = OUTCOME_TIMEOUT
                answer.elapsed_ms = (time.perf_counter() - started) * 1000.0
                write_err(
                    "oep-server: run() still busy %.0f ms after SCORING_TIMEOUT_MS=%d; answering 500 without waiting"
                    % (answer.elapsed_ms, self.timeout_ms)
                )
                threading.Thread(target=self._restart_if_stuck, args=(job,), daemon=True).start()
                return answer
            wait = remaining
        return job

    def _restart_if_stuck(self, job):
        """A run() that neither returns nor lets SIGALRM in blocks this worker for good: after
        stuck_restart_s, end the worker so the parent starts a fresh one (gunicorn kills such workers too)."""
        # Count the stuck call as in flight, so other workers stop handing connections to this one.
        self.on_stuck(True)
        if job.done.acquire(timeout=self.stuck_restart_s):
            self.on_stuck(False)
            return
        write_err(
            "oep-server: run() has been stuck for %.0f s past SCORING_TIMEOUT_MS; restarting the worker"
            % self.stuck_restart_s
        )
        flush_all()
        os._exit(EXIT_STUCK_WORKER)

    def loop(self):
        global _alarm_armed
        get = self.jobs.get
        perf = time.perf_counter
        can_alarm = self.can_alarm
        timeout_s = self.timeout_s
        while True:
            job = get()
            job.started = t0 = perf()
            try:
                try:
                    if can_alarm:
                        _alarm_armed = True
                        signal.setitimer(signal.ITIMER_REAL, timeout_s)
                    value = job.fn(**job.kwargs)
                finally:
                    if can_alarm:
                        _alarm_armed = False
                        signal.setitimer(signal.ITIMER_REAL, 0)
                job.value = value
                job.outcome = OUTCOME_OK
            except ScoringTimeout:
                job.outcome = OUTCOME_TIMEOUT
                job.tb = traceback.format_exc()
            except BaseException:
                job.outcome = OUTCOME_ERROR
                job.tb = traceback.format_exc()
            job.elapsed_ms = (perf() - t0) * 1000.0
            if job.abandoned:
                job.value = None
            job.done.release()
            job = None
