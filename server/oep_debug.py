"""Debugging a replica under debugpy (`oep deployment create|update --debug`; docs/behaviour.md).

With OEP_DEBUGPY=HOST:PORT, oep-server starts debugpy before it loads the entry script and serves
in one process with one worker: debugpy is not told about forked workers, so nothing forks. With
OEP_DEBUGPY_WAIT=1 it waits for a debugger to attach first, so breakpoints in init() are hit.
While a debugger is attached, run() has no SCORING_TIMEOUT_MS: a request may stay at a breakpoint
as long as it takes. debugpy is imported only here and only then; the server stays stdlib-only.
"""

import os
import signal
import sys

DEBUGPY_ENV = "OEP_DEBUGPY"
DEBUGPY_WAIT_ENV = "OEP_DEBUGPY_WAIT"
EXIT_DEBUG_FAILED = 4
# oep's supervisor reads these marks from the log to say what went wrong (src/supervisor/replica-start.ts).
MISSING_MARK = "oep-server: debugpy is not installed:"
LISTEN_FAILED_MARK = "oep-server: debugpy could not listen:"
# While attached, a timed-out run() is looked at again this often (it times out once the debugger leaves).
RECHECK_S = 1.0


def _never():
    return False


_attached = _never


def attached():
    """True while a debugger is attached to this process."""
    return _attached()


def settings(environ):
    """(host, port, wait) from OEP_DEBUGPY, or None. Both variables leave the script's environment."""
    raw = environ.pop(DEBUGPY_ENV, "")
    wait = environ.pop(DEBUGPY_WAIT_ENV, "") == "1"
    if not raw:
        return None
    host, _, port = raw.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 < number < 65536:
        raise ValueError("%s must be HOST:PORT, got %r" % (DEBUGPY_ENV, raw))
    return host or "127.0.0.1", number, wait


def start(debug, out, err):
    """Starts debugpy (and waits for a debugger when asked). Returns 0, or EXIT_DEBUG_FAILED once it said why."""
    global _attached
    host, port, wait = debug
    try:
        import debugpy
    except ImportError as ex:
        err("%s %s cannot import debugpy (%s)" % (MISSING_MARK, sys.executable, ex))
        return EXIT_DEBUG_FAILED
    # debugpy's threads inherit this mask: these signals keep reaching the main thread only, where
    # SIGALRM interrupts run() and SIGTERM ends the server.
    signals = {signal.SIGALRM, signal.SIGTERM, signal.SIGINT}
    can_mask = hasattr(signal, "pthread_sigmask")
    if can_mask:
        signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    try:
        debugpy.listen((host, port))
    except Exception as ex:
        err("%s %s:%d: %s" % (LISTEN_FAILED_MARK, host, port, ex))
        return EXIT_DEBUG_FAILED
    finally:
        if can_mask:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, signals)
    _attached = debugpy.is_client_connected
    out("oep-server: debugpy %s listens on %s:%d (pid %d, one worker)" % (debugpy.__version__, host, port, os.getpid()))
    if wait:
        out("oep-server: waiting for a debugger to attach before the entry script loads")
        debugpy.wait_for_client()
        out("oep-server: debugger attached")
    return 0
