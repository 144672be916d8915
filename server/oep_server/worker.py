"""One worker's connections: accept, keep-alive, hand-off to an idle worker, the replica secret, access lines."""

import errno
import hmac
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
import traceback

from .output import write_err
from .protocol import (
    CT_JSON,
    HeaderLimitError,
    HttpError,
    MAX_HEAD_BYTES,
    REASONS,
    linger,
    status_line,
    gunicorn_error,
    parse_head,
    read_chunked,
    read_exact,
    serialize_response,
)
from .executor import Executor
from .routes import Routes
from .handoff import HANDOFF_WAIT_S
from .contract import REPLICA_SECRET_HEADER


IDLE_TIMEOUT_S = 300  # long enough that the client side always closes an idle keep-alive first
MSG_NO_REPLICA_SECRET = (
    "Unauthorized: this replica answers only requests sent through its endpoint (oep's router checks the key "
    "and adds the replica's secret)."
)
# oep's router sends the deployment's secret in REPLICA_SECRET_HEADER; with OEP_REPLICA_SECRET set,
# every request but a health probe (GET or HEAD on /) must carry it. The header never reaches the script.
_iso_cache = (0, "")


def _iso_now():
    global _iso_cache
    t = time.time()
    sec = int(t)
    cached = _iso_cache
    if cached[0] != sec:
        cached = _iso_cache = (sec, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)))
    return "%s.%03dZ" % (cached[1], int((t - sec) * 1000))


def _is_health_probe(req):
    """GET or HEAD on /: the readiness and liveness route, open to the supervisor's probes (it says only Healthy)."""
    return req.path == "/" and req.method in ("GET", "HEAD")


class Worker(object):
    """Serves the connections of one worker process; run() calls go to its executor."""

    def __init__(self, cfg, script, swagger, lsock, port, slot=0, cluster=None):
        self.cfg = cfg
        self.script = script
        self.swagger = swagger
        self.lsock = lsock
        self.server_addr = (cfg.host, port)
        self.slot = slot
        self.cluster = cluster
        self.executor = Executor(cfg.timeout_ms, cfg.stuck_restart_s, self._on_stuck)
        self.in_flight = 0
        self.in_flight_lock = threading.Lock()
        self.idle = threading.Condition(self.in_flight_lock)
        try:
            self.stdout_fd = sys.stdout.fileno()
        except Exception:
            self.stdout_fd = 1
        self.routes = Routes(cfg, script, swagger, self.executor, self.server_addr)

    # -- serving -------------------------------------------------------------------------------
    def serve_forever(self):
        signals = {signal.SIGALRM, signal.SIGTERM, signal.SIGINT}
        can_mask = hasattr(signal, "pthread_sigmask")
        # Helper threads block these signals so the kernel delivers them to the main thread, where
        # SIGALRM interrupts a sleeping run() and SIGTERM ends the worker.
        if can_mask:
            signal.pthread_sigmask(signal.SIG_BLOCK, signals)
        try:
            threading.Thread(target=self._accept_loop, name="oep-accept", daemon=True).start()
            if self.cluster is not None:
                threading.Thread(
                    target=self.cluster.receive_connections,
                    args=(self.slot, self._adopt_fd),
                    name="oep-handoff",
                    daemon=True,
                ).start()
        finally:
            if can_mask:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, signals)
        if self.cluster is not None:
            self.cluster.publish(self.slot, 0)
        self.executor.loop()

    def _accept_loop(self):
        lsock = self.lsock
        while True:
            try:
                conn, addr = lsock.accept()
            except InterruptedError:
                continue
            except OSError as ex:
                if ex.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    time.sleep(0.05)
                    continue
                if ex.errno in (errno.ECONNABORTED, errno.EPROTO, errno.EAGAIN):
                    continue
                return
            threading.Thread(target=self._serve_connection, args=(conn, addr, False), daemon=True).start()

    def _adopt_fd(self, fd):
        try:
            sock = socket.socket(fileno=fd)
            try:
                addr = sock.getpeername()
            except OSError:
                addr = None
        except OSError:
            try:
                os.close(fd)
            except OSError:
                pass
            return
        threading.Thread(target=self._serve_connection, args=(sock, addr, True), daemon=True).start()

    def _on_stuck(self, stuck):
        if stuck:
            self._reserve()
        else:
            self._release()

    def _reserve(self):
        with self.in_flight_lock:
            self.in_flight += 1
            if self.cluster is not None:
                self.cluster.publish(self.slot, self.in_flight)

    def _release(self):
        with self.in_flight_lock:
            self.in_flight -= 1
            if self.cluster is not None:
                self.cluster.publish(self.slot, self.in_flight)
            if self.in_flight == 0:
                self.idle.notify_all()

    def _claim_or_hand_off(self, sock, handed):
        """Multi-worker: before reading a request that will call run(), keep it (counted as in flight)
        or, when this worker stays busy and another one is idle, pass the connection to that worker.

        Short calls finish before a hand-off would pay off, so a busy worker first waits a moment
        (HANDOFF_WAIT_S) for its own call to end; with no idle worker anywhere it keeps the request."""
        cluster = self.cluster
        with self.in_flight_lock:
            target = None
            if self.in_flight > 0 and not handed and cluster.find_idle(self.slot) is not None:
                deadline = time.monotonic() + HANDOFF_WAIT_S
                while self.in_flight > 0:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        target = cluster.find_idle(self.slot)
                        break
                    self.idle.wait(remaining)
            elif self.in_flight > 1 and not handed:
                # Every worker is busy: still even out kept-alive connections, moving this one to
                # a worker with at least two fewer calls in flight (stops once balanced).
                target = cluster.find_less_loaded(self.slot, self.in_flight)
            if target is None:
                self.in_flight += 1
                cluster.publish(self.slot, self.in_flight)
                return True
        if cluster.send_connection(target, sock):
            return False
        self._reserve()
        return True

    def _serve_connection(self, sock, addr, handed):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", IDLE_TIMEOUT_S, 0))
        except (OSError, struct.error):
            pass
        remote = addr[0] if isinstance(addr, tuple) and addr else None
        multi = self.cluster is not None
        buf = b""
        try:
            while True:
                while buf.startswith(b"\r\n"):
                    buf = buf[2:]
                counted = False
                if multi and not buf:
                    peek = sock.recv(32, socket.MSG_PEEK)
                    if not peek:
                        return
                    if not (peek.startswith(b"GET / ") or peek.startswith(b"HEAD / ") or b" /swagger" in peek):
                        if not self._claim_or_hand_off(sock, handed):
                            return  # the connection now belongs to another worker
                        counted = True
                handed = False
                try:
                    keep, buf = self._serve_one(sock, buf, remote)
                finally:
                    if counted:
                        self._release()
                if not keep:
                    return
        except (ConnectionError, OSError):
            pass
        except Exception:
            write_err("oep-server: connection handler failed:\n" + traceback.format_exc())
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def _serve_one(self, sock, buf, remote):
        """Read one request from the connection, answer it. Returns (keep_alive, leftover bytes)."""
        idx = buf.find(b"\r\n\r\n")
        while idx < 0:
            if len(buf) > MAX_HEAD_BYTES:
                self._send_error_and_close(sock, 431, "Request header fields too large")
                return False, b""
            chunk = sock.recv(65536)
            if not chunk:
                return False, b""
            start = len(buf) - 3 if len(buf) > 3 else 0
            buf += chunk
            idx = buf.find(b"\r\n\r\n", start)
        t0 = time.perf_counter()
        head = buf[:idx]
        buf = buf[idx + 4:]
        try:
            req = parse_head(head)
            req.remote = remote
            hmap = req.hmap
            if not self._came_through_router(req):
                # Decided on the head: the body is never read.
                self._send_error_and_close(sock, 401, MSG_NO_REPLICA_SECRET)
                self._access_log(req.method, req.target.partition("?")[0], 401, (time.perf_counter() - t0) * 1000.0, None)
                linger(sock)
                return False, b""
            http10 = req.version == "HTTP/1.0"
            te = hmap.get("transfer-encoding")
            expect_continue = (not http10) and hmap.get("expect", "").lower() == "100-continue"
            if te is not None:
                if "chunked" not in te.lower():
                    raise HttpError(501, "Transfer-Encoding %s is not supported" % te)
                if expect_continue and not buf:
                    sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                req.body, buf = read_chunked(sock, buf)
            else:
                length = hmap.get("content-length")
                if length:
                    try:
                        n = int(length)
                    except ValueError:
                        raise HttpError(400, "Bad Request") from None
                    if n < 0:
                        raise HttpError(400, "Bad Request")
                    if n and len(buf) < n and expect_continue and not buf:
                        sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                    req.body, buf = read_exact(sock, buf, n)
        except HttpError as ex:
            self._send_error_and_close(sock, ex.status, ex.message)
            return False, b""
        except HeaderLimitError as ex:
            try:
                sock.sendall(
                    gunicorn_error(431, "Request Header Fields Too Large", "Error parsing headers: '%s'" % ex)
                )
            except OSError:
                pass
            linger(sock)
            return False, b""

        answer = self.routes.dispatch(req)

        connection = hmap.get("connection")
        if http10:
            keep = connection is not None and "keep-alive" in connection.lower()
        else:
            keep = connection is None or "close" not in connection.lower()
        sock.sendall(serialize_response(answer.status, answer.headers, answer.body, req.method == "HEAD", keep, http10))
        elapsed = (time.perf_counter() - t0) * 1000.0
        # the path as sent (no query: it can be long or carry data), and the request id when there is
        # one; health probes are not logged (azmlinfsrv does not log them either): every 2 s, forever
        if not _is_health_probe(req):
            request_id = answer.request_id or hmap.get("x-request-id")
            self._access_log(req.method, req.target.partition("?")[0], answer.status, elapsed, request_id)
        return keep, buf

    def _came_through_router(self, req):
        """Checks and removes the replica secret: without OEP_REPLICA_SECRET every request passes."""
        given = req.hmap.pop(REPLICA_SECRET_HEADER, None)
        if given is not None:
            req.headers = [item for item in req.headers if item[0].lower() != REPLICA_SECRET_HEADER]
        expected = self.cfg.replica_secret
        if expected is None or _is_health_probe(req):
            return True
        # Constant time: how much of a guess matched must not show in the answer's timing.
        return given is not None and hmac.compare_digest(given.encode("latin-1", "replace"), expected)

    def _send_error_and_close(self, sock, status, message):
        """Answers made before any route runs (malformed requests, the replica secret): their
        reason phrase is as gunicorn writes its own, not upper case as werkzeug's."""
        body = json.dumps({"message": message}).encode("utf-8")
        answer = serialize_response(status, [("Content-Type", CT_JSON)], body, False, False, False)
        upper = status_line(status).encode("latin-1")
        answer = ("HTTP/1.1 %d %s\r\n" % (status, REASONS.get(status, "Unknown"))).encode("latin-1") + answer[len(upper):]
        try:
            sock.sendall(answer)
        except OSError:
            pass

    def _access_log(self, method, path, status, elapsed_ms, request_id):
        line = "%s %s %s %d %.3fms %s\n" % (_iso_now(), method, path, status, elapsed_ms, request_id or "-")
        try:
            os.write(self.stdout_fd, line.encode("utf-8", "replace"))
        except OSError:
            pass






