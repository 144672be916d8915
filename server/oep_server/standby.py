"""The worker's standby thread: while the main thread stays busy on one request (a long run(), a
slow client), it serves what the main thread cannot.

It sleeps on a timer that the main thread keeps armed for the request it starts on (timer.py), so
requests that finish within TAKEOVER_S seldom wake it (an arm kept from an earlier request can fire
up to TAKEOVER_S / 2 early: the standby then arms it for the rest). Once the timer fires with the
main thread still on the same request, it watches the worker's idle connections and listening
socket (the main thread's `ready` epoll) until the main thread is done: new connections are
accepted (one worker; with several, each worker's accept thread takes them), and a connection that
has a request gets a thread of its own (health probes are answered at once, /score calls are queued
for the main thread or handed to an idle worker). It also answers the main thread's request with
the timeout's 500 when run() is stuck in C code past SCORING_TIMEOUT_MS plus the grace, where
SIGALRM cannot interrupt it."""

import os
import select
import threading
import time

import oep_debug


# How long the main thread may be busy on one request before the standby serves the others: a
# little longer than most run() calls, short enough that nobody waits noticeably (the multi-worker
# hand-off waits HANDOFF_WAIT_S, 2 ms, too).
TAKEOVER_S = 0.002
# ... unless the main thread is on a CPU (or waiting for one) rather than asleep in run(): then it
# is most often preempted on a busy machine, where taking over only adds threads and CPU, or in a
# CPU-bound run(). The standby then waits until the request has lasted this long.
TAKEOVER_RUNNING_S = 0.02


class Standby(object):
    def __init__(self, worker):
        self.worker = worker
        self.timer = worker.timer
        # True while the standby waits on the worker's connections: the main thread then tells it
        # (stop()) when it is done with its request.
        self.active = False
        self.stop_r, self.stop_w = os.pipe()
        os.set_blocking(self.stop_r, False)
        os.set_blocking(self.stop_w, False)
        self.ep = select.epoll()
        self.ep.register(worker.ready.fileno(), select.EPOLLIN)
        self.ep.register(self.stop_r, select.EPOLLIN)
        # The main thread's state (R: running or runnable), where /proc has it.
        self.main_stat = "/proc/self/task/%d/stat" % threading.get_native_id() if hasattr(threading, "get_native_id") else None

    def start(self):
        threading.Thread(target=self._loop, name="oep-standby", daemon=True).start()

    def stop(self):
        """The main thread finished the request the standby was covering for."""
        try:
            os.write(self.stop_w, b"s")
        except (BlockingIOError, InterruptedError):
            pass  # the pipe is full: the standby wakes anyway

    def _loop(self):
        while True:
            self.timer.wait()
            self._serve_while_busy()

    def _serve_while_busy(self):
        worker = self.worker
        while True:
            since = worker.busy_since
            if since is None:
                return
            elapsed = time.perf_counter() - since
            if elapsed < TAKEOVER_S:
                # The timer fired early for this request (the main thread kept an arm made for an
                # earlier one, Worker._begin_busy) or it started since: wait for the rest.
                self.timer.arm(TAKEOVER_S - elapsed)
                return
            if elapsed < TAKEOVER_RUNNING_S and self._main_running():
                self.timer.arm(TAKEOVER_RUNNING_S - elapsed)
                return
            self.active = True
            # Checked after `active` is set, as the main thread clears busy_since before it reads
            # `active`: one of the two always sees the other.
            if worker.busy_since != since:
                self.active = False
                continue
            timeout = self._answer_if_stuck()
            events = self.ep.poll(-1 if timeout is None else timeout)
            self.active = False
            for fd, _ in events:
                if fd == self.stop_r:
                    self._drain_stop()
                else:
                    self._serve_ready()

    def _main_running(self):
        if self.main_stat is None:
            return False
        try:
            with open(self.main_stat, "rb") as stat:
                data = stat.read()
        except OSError:
            return False
        # "pid (comm) S ...": the state follows the last ")"
        return data[data.rfind(b")") + 2:data.rfind(b")") + 3] == b"R"

    def _drain_stop(self):
        try:
            while os.read(self.stop_r, 4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass

    def _serve_ready(self):
        worker = self.worker
        lfd = worker.lsock.fileno() if worker.cluster is None else -1  # several workers: an accept thread
        for fd, _ in worker.ready.poll(0):
            if fd == lfd:
                worker._accept_ready()
                continue
            entry = worker.socks.get(fd)
            if entry is None:
                continue
            sock, remote = entry
            if worker.main_idle():
                worker.ready.modify(fd, select.EPOLLIN | select.EPOLLONESHOT)  # the main thread takes it
            else:
                worker._to_thread(sock, remote, b"")

    def _answer_if_stuck(self):
        """Seconds until the main thread's run() counts as stuck (None: nothing to watch); once it
        does, answer its request with the timeout's 500."""
        executor = self.worker.executor
        job = executor.current
        if job is None or job.context is None or job.abandoned:
            return None  # calls queued by connection threads are watched by those threads
        remaining = executor.past_limit(job, time.perf_counter())
        if remaining is None:
            return oep_debug.RECHECK_S
        if remaining > 0:
            return remaining
        answer = executor.abandon_inline(job)
        if answer is not None:
            self.worker.answer_stuck(job.context, answer)
        return None
