"""The worker processes: the parent forks them, opens the socket once the first is initialised,
replaces those that die and stops them all on SIGTERM/SIGINT."""

import faulthandler
import os
import select
import signal
import socket
import time
import traceback

from .contract import EXIT_INIT_FAILED
from .output import flush_all, write_err, write_out
from .script import load_and_init
from .executor import alarm_handler
from .swagger import Swagger
from .handoff import Cluster
from .worker import Worker


def _exit_now(signum, frame):
    flush_all()
    os._exit(0)


def _set_parent_death_signal(parent_pid):
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(0)


def worker_main(cfg, lsock, port, slot, cluster, ready_w=None, go_r=None, parent_pid=None, in_process=False):
    """One worker: import the script, init() once, then serve until SIGTERM. Never returns."""
    signal.signal(signal.SIGTERM, _exit_now)
    signal.signal(signal.SIGINT, _exit_now)
    signal.signal(signal.SIGALRM, alarm_handler)
    if not in_process:
        _set_parent_death_signal(parent_pid)
    faulthandler.enable()
    # Threads that init() starts inherit this mask, so SIGALRM only ever reaches the main thread.
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    script = load_and_init(cfg)
    try:
        swagger = Swagger(cfg, script)
    except Exception:
        write_err("oep-server: init() failed: cannot load the swagger files")
        write_err(traceback.format_exc())
        flush_all()
        os._exit(EXIT_INIT_FAILED)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGALRM})
    if slot == 0:
        write_out("oep-server: %s; swagger: %s" % (script.describe(), swagger.describe()))
    worker = Worker(cfg, script, swagger, lsock, port, slot, cluster)
    if cluster is not None:
        # Idle as soon as initialised (before the parent lets anyone accept, for the first one):
        # others hand it connections from now on. Connections handed over before this worker's
        # hand-off thread runs wait in its channel.
        cluster.publish(slot, 0)
    write_out("oep-server: worker %d (pid %d) initialised" % (slot, os.getpid()))
    if ready_w is not None:
        os.write(ready_w, b"R")
        os.close(ready_w)
    if go_r is not None:
        # The parent closes its end once every worker is initialised and the socket listens.
        while os.read(go_r, 1):
            pass
        os.close(go_r)
    if in_process:
        lsock.listen(socket.SOMAXCONN)
        write_out("oep-server: ready on http://%s:%d" % (cfg.host, port))
    worker.serve_forever()
    os._exit(0)


class Shutdown(BaseException):
    pass


def _raise_shutdown(signum, frame):
    raise Shutdown()


def _exit_code(status):
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    return 1


class Supervisor(object):
    """The parent: forks the workers, opens the socket once they are initialised, restarts a worker
    that dies, and on SIGTERM/SIGINT stops them all."""

    def __init__(self, cfg, lsock, port):
        self.cfg = cfg
        self.lsock = lsock
        self.port = port
        self.count = cfg.worker_count
        self.cluster = Cluster(self.count) if self.count > 1 else None
        self.workers = {}  # pid -> (slot, started)
        self.ready_r, self.ready_w = os.pipe()
        self.go_r, self.go_w = os.pipe()

    def spawn(self, slot, initial):
        flush_all()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                for fd in (self.ready_r, self.go_w):
                    if fd is not None:
                        os.close(fd)
                worker_main(
                    self.cfg,
                    self.lsock,
                    self.port,
                    slot,
                    self.cluster,
                    ready_w=self.ready_w if initial else None,
                    go_r=self.go_r if initial else None,
                    parent_pid=parent,
                )
                code = 0
            except SystemExit as ex:
                code = ex.code if isinstance(ex.code, int) else 1
            except BaseException:
                write_err("oep-server: worker %d crashed:\n%s" % (slot, traceback.format_exc()))
            finally:
                flush_all()
                os._exit(code)
        self.workers[pid] = (slot, time.monotonic())
        return pid

    def stop_all(self, exit_code):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for pid in list(self.workers):
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
        deadline = time.monotonic() + 5.0
        while self.workers and time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid:
                self.workers.pop(pid, None)
            else:
                time.sleep(0.01)
        for pid in list(self.workers):
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except OSError:
                pass
        flush_all()
        os._exit(exit_code)

    def run(self):
        signal.signal(signal.SIGTERM, _raise_shutdown)
        signal.signal(signal.SIGINT, _raise_shutdown)
        try:
            for slot in range(self.count):
                self.spawn(slot, True)
            os.close(self.ready_w)
            os.close(self.go_r)
            self.ready_w = self.go_r = None
            # Like gunicorn's arbiter under azmlinfsrv, the server answers as soon as one worker is
            # initialised; the others join as their init() returns (they are "not serving yet"
            # in the cluster table until then, so nothing is handed to them before).
            ready = 0
            while ready < 1:
                readable, _, _ = select.select([self.ready_r], [], [], 0.05)
                if readable:
                    ready += len(os.read(self.ready_r, 256))
                while True:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                    if not pid:
                        break
                    if pid not in self.workers:
                        continue  # not a worker (the managed identity's forwarder, msi_forward.py)
                    slot, _ = self.workers.pop(pid, (None, 0))
                    code = _exit_code(status)
                    if code != EXIT_INIT_FAILED:
                        write_err("oep-server: worker %s exited with code %d before it was ready" % (slot, code))
                    self.stop_all(EXIT_INIT_FAILED if code in (EXIT_INIT_FAILED, 0) else 1)
            self.lsock.listen(socket.SOMAXCONN)
            os.close(self.go_w)
            self.go_w = None
            write_out("oep-server: ready on http://%s:%d" % (self.cfg.host, self.port))
            self.supervise()
        except Shutdown:
            self.stop_all(0)

    def supervise(self):
        while True:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                self.stop_all(1)
            entry = self.workers.pop(pid, None)
            if entry is None:
                continue
            slot, started = entry
            code = _exit_code(status)
            if code == EXIT_INIT_FAILED:
                write_err("oep-server: worker %d failed to initialise again; stopping" % slot)
                self.stop_all(EXIT_INIT_FAILED)
            if self.cluster is not None:
                self.cluster.publish(slot, -1)
            write_err("oep-server: worker %d (pid %d) exited with code %d; starting a new one" % (slot, pid, code))
            if time.monotonic() - started < 1.0:
                time.sleep(1.0)  # do not spin on a worker that dies at once
            self.spawn(slot, False)
