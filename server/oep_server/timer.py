"""A one-shot timer another thread can sleep on (Linux timerfd): the worker's main thread makes
sure it is armed as it starts on a request, and its standby thread (standby.py) wakes only when
that request is still going when the timer fires. The main thread so never wakes anyone on the
common path, and under steady load it seldom makes a system call for the timer either: an arm
that fires soon enough for the new request is kept (see cover())."""

import ctypes
import os
import threading
import time


CLOCK_MONOTONIC = 1
TFD_CLOEXEC = 0o2000000  # O_CLOEXEC on Linux


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


class WakeTimer(object):
    """One timerfd, blocking: wait() returns once the last arm()'s delay has passed."""

    def __init__(self, fd, settime):
        self.fd = fd
        self._settime = settime
        # When (time.perf_counter()) the last arm fires; in the past once it fired. Written with
        # the arm under the lock, so that it is the kernel's timer whenever the timer is armed.
        self.due = 0.0
        self._lock = threading.Lock()

    @classmethod
    def create(cls):
        """The timer, or None where the platform has no timerfd (the worker then serves as before,
        with a thread per connection)."""
        if hasattr(os, "timerfd_create"):  # Python 3.13+
            fd = os.timerfd_create(CLOCK_MONOTONIC, flags=os.TFD_CLOEXEC)
            # initial=0 would disarm the timer: fire at once instead
            return cls(fd, lambda seconds: os.timerfd_settime(fd, initial=max(seconds, 1e-9)))
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            create = libc.timerfd_create
            settime = libc.timerfd_settime
        except (OSError, AttributeError):
            return None
        settime.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
        fd = create(CLOCK_MONOTONIC, TFD_CLOEXEC)
        if fd < 0:
            return None
        return cls(fd, _ctypes_settime(fd, settime))

    def arm(self, seconds):
        """Fire once, `seconds` from now (replacing any earlier arm). Costs one system call."""
        with self._lock:
            self.due = time.perf_counter() + seconds
            self._settime(seconds)

    def cover(self, now, delay, slack):
        """Fire `delay` after `now`, or up to `slack` earlier: an arm already due in that window is
        kept (no system call). One that fires early finds the request younger than `delay`; the
        thread woken then arms the timer again for the rest (standby.py)."""
        due = self.due
        if due > now + delay or due < now + delay - slack:
            self.arm(delay)

    def wait(self):
        """Block (without the GIL) until the timer fires."""
        while True:
            try:
                os.read(self.fd, 8)
                return
            except InterruptedError:
                continue


def _ctypes_settime(fd, settime):
    """timerfd_settime through ctypes, with one itimerspec reused: arming is on every request's path."""
    spec = _Itimerspec()
    ref = ctypes.byref(spec)
    last = [None]

    def arm(seconds):
        if seconds != last[0]:
            last[0] = seconds
            whole = int(seconds)
            spec.it_value.tv_sec = whole
            # a zero it_value would disarm the timer: fire at once instead
            spec.it_value.tv_nsec = max(1, int((seconds - whole) * 1e9))
        settime(fd, 0, ref, None)

    return arm
