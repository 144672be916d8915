"""The managed identity's endpoint inside a container (docs/behaviour.md, "Identity and tokens").

oep's runtimes set MSI_ENDPOINT=http://127.0.0.1:46808/MSI/auth in a container and mount the
folder of the oep daemon's MSI socket; with OEP_MSI_SOCKET (the socket's path) and OEP_MSI_PORT
(46808) set, oep-server starts a small process that listens on 127.0.0.1:OEP_MSI_PORT and passes
each connection, bytes as they are, to that socket. No network is needed (an internal network with
no egress works), and nothing listens beyond the container's loopback. The daemon checks the
`secret` header; this process reads nothing and logs no request.
"""

import os
import signal
import socket
import threading
import time

from .contract import MSI_PORT_ENV, MSI_SOCKET_ENV

# A daemon that does not answer is said once per minute at most.
_QUIET_S = 60.0


def start(environ, err):
    """Binds the port and forks the forwarder; returns its pid, or None when not asked or not possible."""
    path = environ.pop(MSI_SOCKET_ENV, None)
    port_text = environ.pop(MSI_PORT_ENV, None)
    if not path or not port_text:
        return None
    try:
        port = int(port_text)
    except ValueError:
        err("oep-server: warning: %s=%r is not a port; no managed identity endpoint" % (MSI_PORT_ENV, port_text))
        return None
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(64)
    except OSError as ex:
        listener.close()
        err("oep-server: warning: cannot listen on 127.0.0.1:%d for the managed identity (MSI_ENDPOINT): %s" % (port, ex))
        return None
    parent = os.getpid()
    pid = os.fork()
    if pid:
        listener.close()
        return pid
    code = 0
    try:
        _become_forwarder(parent)
        _serve(listener, path, err)
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _become_forwarder(parent):
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass
    if os.getppid() != parent:
        os._exit(0)


def _serve(listener, path, err):
    last_told = [0.0]
    while True:
        try:
            conn, _ = listener.accept()
        except InterruptedError:
            continue
        threading.Thread(target=_forward, args=(conn, path, err, last_told), daemon=True).start()


def _forward(conn, path, err, last_told):
    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        upstream.connect(path)
    except OSError as ex:
        now = time.monotonic()
        if now - last_told[0] > _QUIET_S:
            last_told[0] = now
            err(
                "oep-server: the managed identity endpoint (MSI_ENDPOINT) gets no answer from the oep daemon at %s: %s "
                "(any oep command starts the daemon again)" % (path, ex)
            )
        upstream.close()
        conn.close()
        return
    back = threading.Thread(target=_pump, args=(upstream, conn), daemon=True)
    back.start()
    _pump(conn, upstream)
    back.join()
    conn.close()
    upstream.close()


def _pump(source, target):
    """Copies until the source ends, then ends the target's writing side."""
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            target.sendall(data)
    except OSError:
        pass
    try:
        target.shutdown(socket.SHUT_WR)
    except OSError:
        pass
