"""Debugging a replica under debugpy (`oep deployment create|update --debug`; docs/behaviour.md).

With OEP_DEBUGPY=HOST:PORT, oep-server starts debugpy before it loads the entry script and serves
in one process with one worker: debugpy is not told about forked workers, so nothing forks. With
OEP_DEBUGPY_WAIT=1 it waits for a debugger to attach first, so breakpoints in init() are hit.
While a debugger is attached, run() has no SCORING_TIMEOUT_MS: a request may stay at a breakpoint
as long as it takes. debugpy is imported only here and only then; the server stays stdlib-only.

Who may attach: debugpy's usual adapter (a separate process, its token in its command line)
answers any local user on its port. Instead debugpy runs its adapter in this process
(in_process_debug_adapter) and pydevd is given OEP_DEBUGPY_TOKEN as its access token: it answers
a client only once that client's first request is pydevdAuthorize with the token. Only oep's
daemon knows it (its debug gate sends it for the user's own connections); nothing secret is in
any process's arguments. A debugpy that cannot do this (no in-process adapter) falls back to the
usual adapter and says so (OPEN_MARK): the daemon then warns that any local user can attach.
"""

import os
import signal
import socket
import sys

from oep_server.contract import (
    DEBUGPY_ENV,
    DEBUGPY_LISTEN_FAILED_MARK,
    DEBUGPY_MISSING_MARK,
    DEBUGPY_OWN_USER_ENV,
    DEBUGPY_TOKEN_ENV,
    DEBUGPY_WAIT_ENV,
    EXIT_DEBUG_FAILED,
)

# DEBUGPY_OWN_USER_ENV (process runtime): debugpy's port accepts only connections of this process's
# user (the daemon's gate); another user's is closed before pydevd sees it (it would take the
# debugger's place). oep's supervisor reads the DEBUGPY_*_MARK lines from the log to say what went
# wrong (src/supervisor/replica-start.ts).

# debugpy runs, but without the token: any local user can attach (the daemon warns and ends it when idle).
OPEN_MARK = "oep-server: debugpy cannot require oep's debug token:"
# While attached, a timed-out run() is looked at again this often (it times out once the debugger leaves).
RECHECK_S = 1.0


def _never():
    return False


_attached = _never


def attached():
    """True while a debugger is attached to this process."""
    return _attached()


def settings(environ):
    """(host, port, wait, token) from OEP_DEBUGPY, or None. The variables leave the script's environment."""
    raw = environ.pop(DEBUGPY_ENV, "")
    wait = environ.pop(DEBUGPY_WAIT_ENV, "") == "1"
    token = environ.pop(DEBUGPY_TOKEN_ENV, "")
    own_user = environ.pop(DEBUGPY_OWN_USER_ENV, "") == "1"
    if not raw:
        return None
    host, _, port = raw.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 < number < 65536:
        raise ValueError("%s must be HOST:PORT, got %r" % (DEBUGPY_ENV, raw))
    return host or "127.0.0.1", number, wait, token, own_user


def _proc_address(ip, port):
    """An IPv4 address and port as /proc/net/tcp shows them ("0100007F:1F90" on little-endian)."""
    value = int.from_bytes(socket.inet_aton(ip), sys.byteorder)
    return "%08X:%04X" % (value, port)


def peer_uid(conn, table="/proc/net/tcp"):
    """The uid Linux lists for the other end of a loopback TCP connection, or None."""
    try:
        local_ip, local_port = conn.getsockname()[:2]
        remote_ip, remote_port = conn.getpeername()[:2]
        theirs, ours = _proc_address(remote_ip, remote_port), _proc_address(local_ip, local_port)
        with open(table) as rows:
            next(rows, None)
            for row in rows:
                fields = row.split()
                if len(fields) > 7 and fields[1] == theirs and fields[2] == ours:
                    return int(fields[7])
    except (OSError, ValueError):
        pass
    return None


class _OwnUserOnly(object):
    """pydevd's listening socket, accepting only connections of `uid`."""

    def __init__(self, sock, uid):
        self._sock = sock
        self._uid = uid

    def accept(self):
        while True:
            conn, address = self._sock.accept()
            if peer_uid(conn) == self._uid:
                return conn, address
            try:
                conn.close()
            except OSError:
                pass

    def __getattr__(self, name):
        return getattr(self._sock, name)


def _accept_own_user_only(pydevd):
    """pydevd makes its listening socket on a thread of its own, after listen() returns: the
    function it calls for it stays wrapped. False when this pydevd has no such function."""
    original = getattr(pydevd, "create_server_socket", None)
    if original is None:
        return False
    uid = os.geteuid()

    def create_server_socket(host, port):
        return _OwnUserOnly(original(host=host, port=port), uid)

    pydevd.create_server_socket = create_server_socket
    return True


class TokenNotTaken(Exception):
    """debugpy listens, but would answer anyone: the server ends rather than serve so."""


def _listen_with_token(debugpy, address, token, own_user):
    """debugpy with its adapter in this process, and pydevd requiring `token` first.

    Returns (True, None) once that is so, or (False, why) when this debugpy cannot (then nothing
    listens yet). Raises what listening raised (e.g. the port is taken)."""
    if not token:
        return False, "oep gave no token"
    try:
        from debugpy.server import api as server_api  # debugpy's own pydevd comes first on the path

        pydevd = server_api.pydevd
        original = pydevd.settrace
    except (ImportError, AttributeError) as ex:
        return False, "debugpy %s has no pydevd to give a token to (%s)" % (debugpy.__version__, ex)

    def settrace(*args, **kwargs):
        kwargs["access_token"] = token
        return original(*args, **kwargs)

    if own_user and not _accept_own_user_only(pydevd):
        return False, "debugpy %s cannot be told whose connections to accept" % debugpy.__version__

    # debugpy.listen(in_process_debug_adapter=True) calls pydevd.settrace without a token: it gets one.
    pydevd.settrace = settrace
    try:
        debugpy.listen(address, in_process_debug_adapter=True)
    except TypeError as ex:
        if "in_process_debug_adapter" not in str(ex):
            raise
        return False, "debugpy %s has no in-process adapter (debugpy 1.6 or later has)" % debugpy.__version__
    finally:
        pydevd.settrace = original
    debugger = pydevd.get_global_debugger()
    # In this mode pydevd binds its port on a thread of its own: a port that is taken shows only
    # as that thread never saying it listens.
    bound = getattr(debugger, "_server_socket_ready_event", None)
    if bound is not None and not bound.wait(10):
        raise OSError("debugpy did not start listening (is the port taken?)")
    taken = getattr(getattr(debugger, "authentication", None), "access_token", None)
    if taken != token:
        # Listening already, without the token: not to be left so (start() ends the server).
        raise TokenNotTaken("debugpy %s listened without taking oep's debug token" % debugpy.__version__)
    return True, None


def start(debug, out, err):
    """Starts debugpy (and waits for a debugger when asked). Returns 0, or EXIT_DEBUG_FAILED once it said why."""
    global _attached
    host, port, wait, token, own_user = debug
    try:
        import debugpy
    except ImportError as ex:
        err("%s %s cannot import debugpy (%s)" % (DEBUGPY_MISSING_MARK, sys.executable, ex))
        return EXIT_DEBUG_FAILED
    # debugpy's threads inherit this mask: these signals keep reaching the main thread only, where
    # SIGALRM interrupts run() and SIGTERM ends the server.
    signals = {signal.SIGALRM, signal.SIGTERM, signal.SIGINT}
    can_mask = hasattr(signal, "pthread_sigmask")
    if can_mask:
        signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    open_reason = None
    try:
        listening, open_reason = _listen_with_token(debugpy, (host, port), token, own_user)
        if not listening:
            # debugpy's usual adapter: a process of its own, answering anyone on the port.
            debugpy.listen((host, port))
    except TokenNotTaken as ex:
        err("oep-server: debugpy could not start: %s" % ex)
        return EXIT_DEBUG_FAILED
    except Exception as ex:
        err("%s %s:%d: %s" % (DEBUGPY_LISTEN_FAILED_MARK, host, port, ex))
        return EXIT_DEBUG_FAILED
    finally:
        if can_mask:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, signals)
    _attached = debugpy.is_client_connected
    if open_reason is None:
        out("oep-server: debugpy %s listens on %s:%d for oep's debug gate only (pid %d, one worker)" % (debugpy.__version__, host, port, os.getpid()))
    else:
        err("%s %s: any local user can attach on %s:%d" % (OPEN_MARK, open_reason, host, port))
        out("oep-server: debugpy %s listens on %s:%d (pid %d, one worker)" % (debugpy.__version__, host, port, os.getpid()))
    if wait:
        out("oep-server: waiting for a debugger to attach before the entry script loads")
        debugpy.wait_for_client()
        out("oep-server: debugger attached")
    return 0
