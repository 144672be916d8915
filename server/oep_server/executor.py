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
# True while run() runs on the main thread, which must then end by _alarm_deadline
# (time.perf_counter()). The interval timer is left armed when run() returns (one system call per
# call rather than two): the alarm it sends later finds _alarm_armed False, or, for a later call,
# a deadline still ahead, and is ignored.
_alarm_armed = False
_alarm_deadline = 0.0


def alarm_handler(signum, frame):
    if _alarm_armed:
        remaining = _alarm_deadline - time.perf_counter()
        if remaining > 0:
            # An earlier call's alarm, delivered as this call started: the timer is this call's.
            signal.setitimer(signal.ITIMER_REAL, remaining)
            return
        if oep_debug.attached():
            # --debug: no timeout while a debugger holds run() (a breakpoint); checked again later.
            signal.setitimer(signal.ITIMER_REAL, oep_debug.RECHECK_S)
            return
        raise ScoringTimeout()


class Abandoned(BaseException):
    """Raised on the main thread by a run() call whose answer another thread already sent (the
    worker's standby answered 500 because run() stayed stuck past the timeout): the late result
    is dropped. A BaseException so that the routes' `except Exception` lets it through."""


class Job(object):
    __slots__ = (
        "fn", "kwargs", "done", "started", "outcome", "value", "elapsed_ms", "tb", "abandoned", "finished", "context"
    )

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
        self.finished = False
        self.context = None  # inline calls: the worker's request, for a timeout answer made elsewhere


class Executor(object):
    """Runs run() calls one at a time on the main thread (azmlinfsrv runs one request per worker).

    A call made on the main thread itself (the worker's common path: the main thread read the
    request) runs right there. A call from another thread (a connection served by a thread because
    the main thread was busy) is queued for the main thread, which `wake` tells, and waited for."""

    def __init__(self, timeout_ms, stuck_restart_s=30.0, on_stuck=lambda stuck: None, wake=lambda: None):
        self.timeout_ms = timeout_ms
        self.stuck_restart_s = stuck_restart_s
        self.on_stuck = on_stuck
        self.wake = wake
        self.timeout_s = timeout_ms / 1000.0
        self.limit_s = self.timeout_s + TIMEOUT_GRACE_S
        self.jobs = queue.SimpleQueue()
        self.main_ident = threading.get_ident()
        self.can_alarm = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
        self.current = None  # the job running on the main thread now
        self.inline_context = None  # set by the worker around the request its main thread serves
        self.claim_lock = threading.Lock()  # who answers an inline call: the main thread or the standby

    def submit(self, fn, kwargs):
        """The finished call (or, when run() stays stuck past the timeout, a timeout answer)."""
        job = Job(fn, kwargs)
        if threading.get_ident() == self.main_ident:
            job.context = self.inline_context
            return self._run_inline(job)
        self.jobs.put(job)
        self.wake()
        return self._wait_queued(job)

    def _run_inline(self, job):
        self.execute(job)
        with self.claim_lock:
            job.finished = True
            abandoned = job.abandoned
        if abandoned:
            raise Abandoned()
        return job

    def abandon_inline(self, job):
        """Called by the standby thread once an inline call is past SCORING_TIMEOUT_MS and the grace:
        the timeout answer, or None when the call finished meanwhile (the main thread answers)."""
        with self.claim_lock:
            if job.finished:
                return None
            job.abandoned = True
        return self._abandon(job)

    def past_limit(self, job, now):
        """Seconds until an inline call counts as stuck (<= 0: it is), None while a debugger holds it."""
        remaining = job.started + self.limit_s - now
        if remaining <= 0 and oep_debug.attached():
            return None  # --debug: no timeout while a debugger is attached
        return remaining

    def _wait_queued(self, job):
        """Called from connection threads: wait for the queued call (or for the timeout)."""
        limit = self.limit_s
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
                job.abandoned = True
                return self._abandon(job)
            wait = remaining
        return job

    def _abandon(self, job):
        """SIGALRM could not interrupt run() (e.g. blocked in C code): answer without it."""
        answer = Job(None, None)
        answer.outcome = OUTCOME_TIMEOUT
        answer.elapsed_ms = (time.perf_counter() - job.started) * 1000.0
        write_err(
            "oep-server: run() still busy %.0f ms after SCORING_TIMEOUT_MS=%d; answering 500 without waiting"
            % (answer.elapsed_ms, self.timeout_ms)
        )
        threading.Thread(target=self._restart_if_stuck, args=(job,), daemon=True).start()
        return answer

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

    def take_queued(self):
        """The next call queued by a connection thread, or None (main thread, never blocks)."""
        if self.jobs.empty():
            return None  # the common case, checked first: raising queue.Empty costs more
        try:
            return self.jobs.get_nowait()
        except queue.Empty:
            return None

    def loop(self):
        """The main thread's loop where the worker serves with a thread per connection only."""
        get = self.jobs.get
        while True:
            self.execute(get())

    def execute(self, job):
        """One call on the main thread, under SIGALRM at SCORING_TIMEOUT_MS."""
        global _alarm_armed, _alarm_deadline
        can_alarm = self.can_alarm
        job.started = t0 = time.perf_counter()
        self.current = job
        try:
            try:
                if can_alarm:
                    _alarm_deadline = t0 + self.timeout_s  # never after the alarm: t0 is taken first
                    _alarm_armed = True
                    signal.setitimer(signal.ITIMER_REAL, self.timeout_s)
                value = job.fn(**job.kwargs)
            finally:
                if can_alarm:
                    _alarm_armed = False  # the timer stays armed: its alarm is then ignored
            job.value = value
            job.outcome = OUTCOME_OK
        except ScoringTimeout:
            job.outcome = OUTCOME_TIMEOUT
            job.tb = traceback.format_exc()
        except BaseException:
            job.outcome = OUTCOME_ERROR
            job.tb = traceback.format_exc()
        job.elapsed_ms = (time.perf_counter() - t0) * 1000.0
        self.current = None
        if job.abandoned:
            job.value = None
        job.done.release()
