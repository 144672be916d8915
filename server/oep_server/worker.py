"""One worker's connections: accept, keep-alive, hand-off to an idle worker, the replica secret, access lines.

The common path runs on the worker's main thread alone: it waits for connections (epoll), reads a
whole request, runs run() (where SIGALRM can interrupt it) and sends the answer, with no other
thread woken. Only when the main thread stays busy on one request (TAKEOVER_S) does the standby
thread (standby.py) look at the other connections, and it gives each that has a request a thread
of its own, as every connection had before: health probes answered at once, /score calls queued
for the main thread (or handed to an idle worker). Those threads give their connection back to
the main thread's epoll once it is free again.
"""

import errno
import hmac
import json
import os
import select
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
from .executor import Abandoned, Executor
from .routes import Routes
from .handoff import HANDOFF_WAIT_S
from .contract import REPLICA_SECRET_HEADER
from .standby import TAKEOVER_S, Standby
from .timer import WakeTimer


IDLE_TIMEOUT_S = 300  # long enough that the client side always closes an idle keep-alive first
# What the main thread's handling of one connection leaves: keep it (back in the epoll), close it,
# or nothing, as another thread owns the connection now.
KEEP, CLOSE, GIVEN = 0, 1, 2
ONESHOT_IN = select.EPOLLIN | select.EPOLLONESHOT if hasattr(select, "epoll") else 0
MSG_NO_REPLICA_SECRET = (
    "Unauthorized: this replica answers only requests sent through its endpoint (oep's router checks the key "
    "and adds the replica's secret)."
)
# oep's router sends the deployment's secret in REPLICA_SECRET_HEADER; with OEP_REPLICA_SECRET set,
# every request but a health probe (GET or HEAD on /) must carry it. The header never reaches the script.
_iso_cache = (0, "")


def _access_line(method, path, status, elapsed_ms, request_id):
    """`<ISO-8601 UTC time> <method> <path> <status> <ms>ms <x-request-id>`, the time's whole seconds
    formatted once a second."""
    global _iso_cache
    t = time.time()
    sec = int(t)
    cached = _iso_cache
    if cached[0] != sec:
        cached = _iso_cache = (sec, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)))
    return "%s.%03dZ %s %s %d %.3fms %s\n" % (
        cached[1], int((t - sec) * 1000), method, path, status, elapsed_ms, request_id or "-"
    )


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
        # Without epoll and timerfd (not Linux), every connection gets a thread, as before.
        self.timer = WakeTimer.create() if hasattr(select, "epoll") else None
        self.fast = self.timer is not None
        self.executor = Executor(cfg.timeout_ms, cfg.stuck_restart_s, self._on_stuck, self._wake_main)
        self.in_flight = 0
        self.in_flight_lock = threading.Lock()
        # Several workers: this worker's counts of connections (kept, closed, passed on) in the
        # cluster's table, updated from several threads.
        self.count_lock = threading.Lock()
        if cluster is not None:
            cluster.forget_connections(slot)
        self.idle = threading.Condition(self.in_flight_lock)
        try:
            self.stdout_fd = sys.stdout.fileno()
        except Exception:
            self.stdout_fd = 1
        self.routes = Routes(cfg, script, swagger, self.executor, self.server_addr)
        # When the main thread started on what it is doing now (None: waiting for work).
        self.busy_since = None
        if self.fast:
            # `ready`: the listening socket and the connections nobody is serving (one-shot: an
            # event goes to one thread, which owns the connection until it puts it back).
            self.ready = select.epoll()
            self.socks = {}  # fd -> (socket, remote address), for the connections in `ready`
            # The main thread waits on `ready` and on calls queued by connection threads.
            self.wake_r, self.wake_w = os.pipe()
            os.set_blocking(self.wake_r, False)
            os.set_blocking(self.wake_w, False)
            self.main_ep = select.epoll()
            self.main_ep.register(self.ready.fileno(), select.EPOLLIN)
            self.main_ep.register(self.wake_r, select.EPOLLIN)
            self.standby = Standby(self)

    # -- serving -------------------------------------------------------------------------------
    def serve_forever(self):
        signals = {signal.SIGALRM, signal.SIGTERM, signal.SIGINT}
        can_mask = hasattr(signal, "pthread_sigmask")
        # Helper threads block these signals so the kernel delivers them to the main thread, where
        # SIGALRM interrupts a sleeping run() and SIGTERM ends the worker.
        if can_mask:
            signal.pthread_sigmask(signal.SIG_BLOCK, signals)
        try:
            if self.fast:
                self.standby.start()
            if not self.fast or self.cluster is not None:
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
        if self.fast:
            self._main_loop()
        else:
            self.executor.loop()

    # -- the main thread: connections and run() on one thread ------------------------------------
    def _main_loop(self):
        lfd = -1
        if self.cluster is None:
            # One worker: its main thread (and standby) accept. With several, each has an accept
            # thread blocked in accept(), which the kernel wakes one at a time: new connections
            # spread over the workers instead of going to whichever main thread wakes first.
            lsock = self.lsock
            lsock.setblocking(False)
            lfd = lsock.fileno()
            self.ready.register(lfd, select.EPOLLIN)
        poll_ready = self.ready.poll
        wait = self.main_ep.poll
        wake_r = self.wake_r
        while True:
            self._run_queued()
            # One event at a time: a connection whose event the main thread took stays its own
            # until served, so the others stay in `ready`, where the standby sees them should this
            # request last.
            events = poll_ready(0, 1)
            if not events:
                for fd, _ in wait():
                    if fd == wake_r:
                        self._drain_wake()
                continue
            for fd, _ in events:
                if fd == lfd:
                    self._accept_ready()
                else:
                    self._serve_ready(fd)

    def _wake_main(self):
        """A connection thread queued a call: the main thread may be waiting in epoll."""
        if self.fast:
            try:
                os.write(self.wake_w, b"w")
            except (BlockingIOError, InterruptedError):
                pass  # the pipe is full, so the main thread wakes anyway

    def _drain_wake(self):
        try:
            while os.read(self.wake_r, 4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass

    def _begin_busy(self):
        self.busy_since = now = time.perf_counter()
        # Within the first half of TAKEOVER_S the standby wakes early, finds the request young
        # and waits for the rest: under steady load the timer is armed about once per millisecond
        # rather than once per request.
        self.timer.cover(now, TAKEOVER_S, TAKEOVER_S / 2)

    def _end_busy(self):
        self.busy_since = None
        if self.standby.active:
            self.standby.stop()

    def _run_queued(self):
        """Calls queued by connection threads (served while the main thread was busy)."""
        executor = self.executor
        job = executor.take_queued()
        while job is not None:
            self._begin_busy()
            try:
                executor.execute(job)
            finally:
                self._end_busy()
            job = executor.take_queued()

    def _accept_ready(self):
        """Accepts what the listening socket has (main thread or standby) into `ready`."""
        lsock = self.lsock
        while True:
            try:
                conn, addr = lsock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as ex:
                if ex.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    time.sleep(0.05)
                    return
                if ex.errno in (errno.ECONNABORTED, errno.EPROTO):
                    continue
                return
            conn.setblocking(True)  # threads read it blocking; the main thread with MSG_DONTWAIT
            _prepare(conn)
            self._park(conn, _remote_of(addr))

    def _park(self, sock, remote):
        """Puts a connection (with nothing read from it pending) back in `ready`."""
        fd = sock.fileno()
        if fd in self.socks:
            self.ready.modify(fd, ONESHOT_IN)
        else:
            self.socks[fd] = (sock, remote)
            self.ready.register(fd, ONESHOT_IN)

    def _close(self, sock):
        fd = sock.fileno()
        if self.fast and self.socks.pop(fd, None) is not None:
            try:
                self.ready.unregister(fd)
            except OSError:
                pass
        try:
            sock.close()
        except OSError:
            pass
        self._count_closed()

    def main_idle(self):
        return self.busy_since is None

    def _serve_ready(self, fd):
        """The main thread: a connection has bytes. Serve what they hold, then put it back."""
        entry = self.socks.get(fd)
        if entry is None:
            return
        sock, remote = entry
        try:
            buf = sock.recv(65536, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            self.ready.modify(fd, ONESHOT_IN)
            return
        except OSError:
            self._close(sock)
            return
        if not buf:
            self._close(sock)
            return
        self._begin_busy()
        try:
            state = self._serve_buffer(sock, remote, buf)
        except (ConnectionError, OSError):
            state = CLOSE
        except Exception:
            write_err("oep-server: connection handler failed:\n" + traceback.format_exc())
            state = CLOSE
        finally:
            self._end_busy()
        if state == KEEP:
            self.ready.modify(fd, ONESHOT_IN)
        elif state == CLOSE:
            self._close(sock)

    def _serve_buffer(self, sock, remote, buf):
        """Answers the whole requests in buf on the main thread. Anything else (a partial request,
        chunked bodies, 100-continue, malformed heads, a missing replica secret, a /score call while
        this worker has another in flight) goes to a connection thread with the bytes read, which
        serves it as every request was served before."""
        multi = self.cluster is not None
        while True:
            while buf.startswith(b"\r\n"):
                buf = buf[2:]
            if not buf:
                return KEEP
            t0 = time.perf_counter()
            req, rest, buf = self._whole_request(sock, buf, remote)
            if req is None or not self._came_through_router(req):
                self._to_thread(sock, remote, buf)
                return GIVEN
            claimed = multi and req.path == "/score"
            if claimed and not self._claim_on_main():
                self._to_thread(sock, remote, buf)
                return GIVEN
            try:
                state = self._answer_on_main(sock, remote, req, t0, rest)
            finally:
                if claimed:
                    self._release()
            if state != KEEP:
                return state
            buf = rest

    def _whole_request(self, sock, buf, remote):
        """(request, bytes after it, buf) when buf holds a whole plain request (reading what the socket
        already has for its body), else (None, None, buf) with whatever was read."""
        idx = buf.find(b"\r\n\r\n")
        if idx < 0:
            return None, None, buf
        try:
            req = parse_head(buf[:idx])
        except (HttpError, HeaderLimitError):
            return None, None, buf
        hmap = req.hmap
        if "transfer-encoding" in hmap:
            return None, None, buf
        n = 0
        length = hmap.get("content-length")
        if length:
            try:
                n = int(length)
            except ValueError:
                return None, None, buf
            if n < 0:
                return None, None, buf
        end = idx + 4 + n
        if len(buf) < end:
            if "expect" in hmap:
                return None, None, buf
            buf = _recv_available(sock, buf, end)
            if len(buf) < end:
                return None, None, buf
        req.remote = remote
        req.body = buf[idx + 4:end]
        return req, buf[end:], buf

    def _claim_on_main(self):
        """Multi-worker: count the main thread's /score call as in flight, unless calls queued by
        connection threads are (they go first: the request then takes the threads' path)."""
        with self.in_flight_lock:
            if self.in_flight > 0:
                return False
            self.in_flight = 1
            self.cluster.publish(self.slot, 1)
            return True

    def _answer_on_main(self, sock, remote, req, t0, rest):
        # For the standby: the request to answer should run() stay stuck past the timeout.
        self.executor.inline_context = (sock, remote, req, t0, rest)
        try:
            answer = self.routes.dispatch(req)
        except Abandoned:
            return GIVEN  # the standby answered it and passed the connection on
        finally:
            self.executor.inline_context = None
        keep, data = _encode(req, answer)
        try:
            sent = sock.send(data, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            sent = 0
        self._log_answer(req, answer, t0)
        if sent < len(data):
            # The client reads slowly: a thread finishes sending (the main thread does not wait).
            threading.Thread(target=self._finish_sending, args=(sock, remote, data[sent:], keep, rest), daemon=True).start()
            return GIVEN
        return KEEP if keep else CLOSE

    def _finish_sending(self, sock, remote, data, keep, rest):
        try:
            sock.sendall(data)
        except OSError:
            keep = False
        if keep:
            self._serve_connection(sock, remote, False, rest)
        else:
            self._close(sock)

    def _to_thread(self, sock, remote, buf):
        threading.Thread(target=self._serve_connection, args=(sock, remote, False, buf), daemon=True).start()

    def answer_stuck(self, context, answer):
        """The standby: the main thread's run() is stuck past the timeout (in C code SIGALRM cannot
        interrupt). Answer 500 now; a thread serves the connection from here on."""
        sock, remote, req, t0, rest = context
        response = self.routes.timed_out(req, answer.elapsed_ms)
        keep, data = _encode(req, response)
        self._log_answer(req, response, t0)
        try:
            sock.sendall(data)
        except OSError:
            keep = False
        if keep:
            self._to_thread(sock, remote, rest)
        else:
            self._close(sock)

    # -- connection threads: a thread per connection while the main thread is busy --------------
    def _accept_loop(self):
        """The accept thread: new connections go to the main thread's epoll (several workers), or
        each gets a thread (without epoll/timerfd)."""
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
            if self.cluster is not None and self._pass_new_connection(conn):
                continue
            _prepare(conn)
            if self.fast:
                self._park(conn, _remote_of(addr))
            else:
                threading.Thread(target=self._serve_connection, args=(conn, _remote_of(addr), False), daemon=True).start()

    def _pass_new_connection(self, conn):
        """Several workers: a new connection goes to the worker with the fewest open, when that is
        not this one (True: it was passed on). The accept threads of all workers wait in accept(),
        but a burst of new connections (a client opening its pool) would otherwise land on one
        worker: its accept thread, already running, takes those queued behind the first before the
        others' threads get to run. The counts are updated before the next accept, so a burst
        sees the connections passed a moment ago."""
        cluster = self.cluster
        with self.count_lock:
            target = cluster.find_fewer_connections(self.slot)
            if target is not None and cluster.send_connection(target, conn):
                cluster.count_sent(self.slot, target)
            else:
                cluster.count_kept(self.slot)
                return False
        try:
            conn.close()  # this process's copy: the connection is the other worker's now
        except OSError:
            pass
        return True

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
            self._count_closed()
            return
        _prepare(sock)
        threading.Thread(target=self._serve_connection, args=(sock, _remote_of(addr), True), daemon=True).start()

    def _count_closed(self):
        if self.cluster is not None:
            with self.count_lock:
                self.cluster.count_closed(self.slot)

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
            with self.count_lock:
                cluster.count_sent(self.slot, target)
            return False
        self._reserve()
        return True

    def _serve_connection(self, sock, remote, handed, buf=b""):
        """Serves a connection on this thread (blocking reads) until it closes, or until the main
        thread is free again: the connection then goes back to it."""
        multi = self.cluster is not None
        owned = True
        try:
            while True:
                while buf.startswith(b"\r\n"):
                    buf = buf[2:]
                counted = False
                if multi:
                    peek = buf[:32] if buf else sock.recv(32, socket.MSG_PEEK)
                    if not peek:
                        return
                    if not (peek.startswith(b"GET / ") or peek.startswith(b"HEAD / ") or b" /swagger" in peek):
                        if buf:
                            self._reserve()  # bytes already read: the connection cannot move now
                        elif not self._claim_or_hand_off(sock, handed):
                            return  # the connection now belongs to another worker (this copy is closed)
                        counted = True
                handed = False
                try:
                    keep, buf = self._serve_one(sock, buf, remote)
                finally:
                    if counted:
                        self._release()
                if not keep:
                    return
                if self.fast and not buf and self.main_idle():
                    owned = False
                    self._park(sock, remote)
                    return
        except (ConnectionError, OSError):
            pass
        except Exception:
            write_err("oep-server: connection handler failed:\n" + traceback.format_exc())
        finally:
            if owned:
                self._close(sock)

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
                # Decided on the head: the body is never read. The access line goes out before the
                # answer, so that it precedes the lines of whatever the client sends next.
                self._access_log(req.method, req.target.partition("?")[0], 401, (time.perf_counter() - t0) * 1000.0, None)
                self._send_error_and_close(sock, 401, MSG_NO_REPLICA_SECRET)
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
        keep, data = _encode(req, answer)
        # Logged before the answer leaves: the client's next request may be answered by the main
        # thread at once, and its access line must come after this one.
        self._log_answer(req, answer, t0)
        sock.sendall(data)
        return keep, buf

    def _log_answer(self, req, answer, t0):
        elapsed = (time.perf_counter() - t0) * 1000.0
        # the path as sent (no query: it can be long or carry data), and the request id when there is
        # one; health probes are not logged (azmlinfsrv does not log them either): every 2 s, forever
        if not _is_health_probe(req):
            request_id = answer.request_id or req.hmap.get("x-request-id")
            self._access_log(req.method, req.target.partition("?")[0], answer.status, elapsed, request_id)

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
        line = _access_line(method, path, status, elapsed_ms, request_id)
        try:
            os.write(self.stdout_fd, line.encode("utf-8", "replace"))
        except OSError:
            pass


def _encode(req, answer):
    """(keep the connection alive, the answer's bytes)."""
    connection = req.hmap.get("connection")
    http10 = req.version == "HTTP/1.0"
    if http10:
        keep = connection is not None and "keep-alive" in connection.lower()
    else:
        keep = connection is None or "close" not in connection.lower()
    data = serialize_response(answer.status, answer.headers, answer.body, req.method == "HEAD", keep, http10)
    return keep, data


def _recv_available(sock, buf, need):
    """buf plus what the socket already has (never waiting), until it holds `need` bytes."""
    parts = [buf]
    have = len(buf)
    while have < need:
        try:
            chunk = sock.recv(max(need - have, 65536), socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            break
        if not chunk:
            break
        parts.append(chunk)
        have += len(chunk)
    return b"".join(parts)


def _prepare(sock):
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):
        pass
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", IDLE_TIMEOUT_S, 0))
    except (OSError, struct.error):
        pass


def _remote_of(addr):
    return addr[0] if isinstance(addr, tuple) and addr else None
