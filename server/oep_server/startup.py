"""Start-up: configuration, the socket, the banner, then the workers."""

import os
import socket
import sys

import oep_debug

from . import EXIT_BIND_FAILED, SERVER_VERSION
from .contract import EXIT_INIT_FAILED, REPLICA_SECRET_ENV, UMASK_ENV
from .output import setup_stdio, write_err, write_out
from .config import Config, ConfigError, maybe_exec_azmlinfsrv, parse_args
from .pool import Supervisor, worker_main
from . import msi_forward


def bind_socket(host, port):
    infos = socket.getaddrinfo(host or None, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
    last = None
    for family, socktype, proto, _, addr in infos:
        sock = socket.socket(family, socktype, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and host in ("::", ""):
                try:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
                except OSError:
                    pass
            sock.bind(addr)
            return sock
        except OSError as ex:
            last = ex
            sock.close()
    raise last if last else OSError("no address to bind for %r" % (host,))


def print_banner(cfg, port):
    hostport = "%s:%d" % (cfg.host, port)
    lines = [
        "",
        "oep-server %s (Azure ML inference server contract, azmlinfsrv-compatible)" % SERVER_VERSION,
        "",
        "Server Settings",
        "---------------",
        "Entry Script Name: %s" % cfg.entry_script,
        "Model Directory: %s" % (cfg.model_dir or "None"),
        "Config File: %s" % cfg.config_file,
        "App Root: %s" % cfg.app_root,
        "Worker Count: %d" % cfg.worker_count,
        "Scoring Timeout (ms): %d" % cfg.timeout_ms,
        "Server Host: %s" % cfg.host,
        "Server Port: %d" % port,
        # no separate health listener: the probe is served on the scoring port, as azmlinfsrv's default
        "Health Port: %d" % port,
        "Application Insights Enabled: %s" % ("true" if cfg.app_insights_enabled else "false"),
        "Application Insights Key: %s" % ("AppInsights key provided" if cfg.app_insights_key_given else "None"),
        "Inferencing HTTP server version: %s" % cfg.server_version,
        "CORS for the specified origins: %s"
        % (("Enabling CORS for %s" % cfg.cors_origins_env) if cfg.cors_origins else "None"),
        "",
        "Server Routes",
        "---------------",
        "Liveness Probe: GET   %s/" % hostport,
        "Score:          POST  %s/score" % hostport,
        "Swagger:        GET   %s/swagger.json" % hostport,
        "",
    ]
    write_out("\n".join(lines))
    if cfg.app_insights_enabled:
        write_out("oep-server: Application Insights is not implemented by oep-server: nothing is sent")


def _restore_user_umask(environ):
    """oep's daemon runs with umask 077 so its files are private; it passes the umask it was started
    with in OEP_UMASK, and the scoring script gets that one back (files it writes are as the user's)."""
    raw = environ.pop(UMASK_ENV, None)
    if raw:
        try:
            os.umask(int(raw, 8) & 0o777)
        except ValueError:
            pass


def main(argv=None):
    setup_stdio()
    _restore_user_umask(os.environ)
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        cfg = Config(args, os.environ)
        debug = oep_debug.settings(os.environ)
    except (ConfigError, ValueError) as ex:
        write_err("oep-server: %s" % ex)
        return EXIT_INIT_FAILED
    if debug is not None:
        cfg.worker_count = 1
    # In a container: MSI_ENDPOINT (127.0.0.1:46808) passed on to the oep daemon's socket. Forked
    # before any thread or worker exists; it ends with this process.
    msi_forward.start(os.environ, write_err)
    maybe_exec_azmlinfsrv(cfg, os.environ)
    # Kept in the config only: the scoring script has no use for it, nor its children.
    os.environ.pop(REPLICA_SECRET_ENV, None)
    try:
        lsock = bind_socket(cfg.host, cfg.port)
    except OSError as ex:
        write_err("oep-server: cannot listen on %s:%d: %s" % (cfg.host, cfg.port, ex))
        return EXIT_BIND_FAILED
    port = lsock.getsockname()[1]
    print_banner(cfg, port)
    if debug is not None:
        # --debug: debugpy first (it may wait for a debugger), then one worker in this process.
        code = oep_debug.start(debug, write_out, write_err)
        if code:
            return code
        worker_main(cfg, lsock, port, 0, None, in_process=True)
    elif hasattr(os, "fork"):
        Supervisor(cfg, lsock, port).run()
    else:
        worker_main(cfg, lsock, port, 0, None, in_process=True)
    return 0
