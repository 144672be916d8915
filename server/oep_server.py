#!/usr/bin/env python3
"""oep-server: oep's implementation of the Azure ML inference server contract (azmlinfsrv).

    python3 server/oep_server.py [--host HOST] [--port PORT]

Standard library only, Python 3.8+. See server/README.md for the environment variables, the HTTP
behaviour and where oep-server differs from azmlinfsrv.

Process model: the parent binds the socket, forks WORKER_COUNT workers and supervises them. Each
worker imports the entry script, calls init() once, then serves HTTP/1.1 (keep-alive) with one
thread per connection while run() calls execute one at a time on the worker's main thread, where
SIGALRM can interrupt them at SCORING_TIMEOUT_MS (as azmlinfsrv does). The socket only starts
listening once every worker's init() has returned, so nothing answers before init() completed.
With more than one worker, a request that reaches a busy worker over a kept-alive connection is
handed (with its connection) to an idle worker, so concurrent requests really run concurrently.
"""

import argparse
import array
import errno
import faulthandler
import hmac
import html
import importlib.util
import inspect
import io
import json
import mmap
import os
import queue
import re
import select
import shutil
import signal
import socket
import struct
import sys
import threading
import time
import traceback
import types
from email.utils import formatdate
from urllib.parse import parse_qsl, unquote, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from oep_aml_api import AMLRequest, build_environ, wsgi_style_headers  # noqa: E402
import oep_monitoring  # noqa: E402
import oep_debug  # noqa: E402

SERVER_VERSION = "0.1.0"
SERVER_ID = "oep-server/" + SERVER_VERSION
SHIMS_DIR = os.path.join(HERE, "oep_shims")

EXIT_BIND_FAILED = 1
EXIT_INIT_FAILED = 3
EXIT_STUCK_WORKER = 70  # a worker ends itself when run() is stuck; the parent starts a new one

HEADER_LIMIT = 100  # x-request-id & co., as in azmlinfsrv
MAX_HEAD_BYTES = 64 * 1024
# gunicorn's limit_request_field_size and limit_request_fields (azmlinfsrv runs under gunicorn):
# a header line longer than this, CRLF included, or more header fields answer 431.
MAX_HEADER_LINE_BYTES = 8190
MAX_HEADER_FIELDS = 100
IDLE_TIMEOUT_S = 300  # long enough that the client side always closes an idle keep-alive first
TIMEOUT_GRACE_S = 0.5
HANDOFF_WAIT_S = 0.002  # how long a busy worker waits for its own run() before handing a request to an idle one  # when SIGALRM cannot interrupt run() (stuck in C code), stop waiting after this
MODEL_TREE_LINES = 200

MSG_NOT_FOUND = (
    "The requested URL was not found on the server. If you entered the URL manually please check your spelling and "
    "try again."
)
MSG_METHOD_NOT_ALLOWED = "The method is not allowed for the requested URL."
MSG_RUN_FAILED = "An unexpected error occurred in scoring script. Check the logs for more info."
MSG_INTERNAL = "An unexpected internal error occurred. Check the logs for more info."
MSG_REQUEST_ID_DEPRECATED = (
    "x-ms-request-id header has been deprecated and will be removed from future versions of the server. "
    "Please use x-ms-client-request-id."
)
MSG_NO_REPLICA_SECRET = (
    "Unauthorized: this replica answers only requests sent through its endpoint (oep's router checks the key "
    "and adds the replica's secret)."
)

# oep's router sends the deployment's secret in this header; with OEP_REPLICA_SECRET set, every
# request but a health probe (GET or HEAD on /) must carry it. The header never reaches the script.
REPLICA_SECRET_HEADER = "x-oep-replica-secret"
REPLICA_SECRET_ENV = "OEP_REPLICA_SECRET"

CT_JSON = "application/json"
CT_HTML = "text/html; charset=utf-8"
FORM_MIMETYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
SCORE_METHODS = ("GET", "POST", "OPTIONS", "HEAD")

# Swagger builders as in azmlinfsrv: version, aliases, user files (first found wins).
SWAGGER_BUILDERS = (
    ("2", ("2", "2.0"), ("swagger.json", "swagger2.json")),
    ("3", ("3", "3.0"), ("swagger3.json",)),
    ("3.1", ("3.1",), ("swagger3.1.json",)),
)
VALID_SWAGGER_VERSIONS = frozenset(alias for _, aliases, _ in SWAGGER_BUILDERS for alias in aliases)
ALL_SWAGGER_VERSIONS = [version for version, _, _ in SWAGGER_BUILDERS]

MODE_JSON = "json"  # run(raw_data: str)
MODE_RAW = "raw"  # @rawhttp run(request)
MODE_OBJECT = "object"  # @input_schema run(**params)


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------


def _setup_stdio():
    """Line-buffered stdout/stderr whatever PYTHONUNBUFFERED says: print() in the scoring script
    reaches the log as soon as its line is complete, and each line is one write, so the lines of
    several workers never interleave mid-line (unbuffered print() writes text and newline apart)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        try:
            stream.flush()
            buffered = io.open(stream.fileno(), "wb", closefd=False)
            setattr(
                sys,
                name,
                io.TextIOWrapper(buffered, encoding=stream.encoding, errors=stream.errors, line_buffering=True),
            )
        except Exception:
            try:
                stream.reconfigure(line_buffering=True)
            except Exception:
                pass
    # Child processes started by the scoring script should not buffer either.
    os.environ["PYTHONUNBUFFERED"] = "1"


def _err(message):
    try:
        sys.stderr.write(message if message.endswith("\n") else message + "\n")
        sys.stderr.flush()
    except Exception:
        pass


def _out(message):
    try:
        sys.stdout.write(message if message.endswith("\n") else message + "\n")
        sys.stdout.flush()
    except Exception:
        pass


def _flush_all():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


_date_cache = (0, "")


def _http_date():
    global _date_cache
    now = int(time.time())
    cached = _date_cache
    if cached[0] != now:
        cached = _date_cache = (now, formatdate(now, usegmt=True))
    return cached[1]


_iso_cache = (0, "")


def _iso_now():
    global _iso_cache
    t = time.time()
    sec = int(t)
    cached = _iso_cache
    if cached[0] != sec:
        cached = _iso_cache = (sec, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)))
    return "%s.%03dZ" % (cached[1], int((t - sec) * 1000))


# werkzeug's reason phrases, which it sends upper case ("404 NOT FOUND"): what azmlinfsrv's
# clients see, e.g. in the message of requests' raise_for_status(). Fixed here rather than taken
# from http.HTTPStatus, whose phrases differ from werkzeug's and change between Python versions.
_REASONS = {
    100: "Continue", 101: "Switching Protocols", 102: "Processing", 103: "Early Hints",
    200: "OK", 201: "Created", 202: "Accepted", 203: "Non Authoritative Information", 204: "No Content",
    205: "Reset Content", 206: "Partial Content", 207: "Multi Status", 208: "Already Reported", 226: "IM Used",
    300: "Multiple Choices", 301: "Moved Permanently", 302: "Found", 303: "See Other", 304: "Not Modified",
    305: "Use Proxy", 306: "Switch Proxy", 307: "Temporary Redirect", 308: "Permanent Redirect",
    400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 406: "Not Acceptable", 407: "Proxy Authentication Required",
    408: "Request Timeout", 409: "Conflict", 410: "Gone", 411: "Length Required", 412: "Precondition Failed",
    413: "Request Entity Too Large", 414: "Request URI Too Long", 415: "Unsupported Media Type",
    416: "Requested Range Not Satisfiable", 417: "Expectation Failed", 418: "I'm a teapot",
    421: "Misdirected Request", 422: "Unprocessable Entity", 423: "Locked", 424: "Failed Dependency",
    425: "Too Early", 426: "Upgrade Required", 428: "Precondition Required", 429: "Too Many Requests",
    431: "Request Header Fields Too Large", 449: "Retry With", 451: "Unavailable For Legal Reasons",
    500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Gateway Timeout", 505: "HTTP Version Not Supported", 506: "Variant Also Negotiates",
    507: "Insufficient Storage", 508: "Loop Detected", 510: "Not Extended", 511: "Network Authentication Failed",
}


def _reason(code):
    return _REASONS.get(code, "Unknown").upper()


_STATUS_LINES = {}


def _status_line(code):
    line = _STATUS_LINES.get(code)
    if line is None:
        line = _STATUS_LINES[code] = "HTTP/1.1 %d %s\r\n" % (code, _reason(code))
    return line


def _encode_head(text):
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def _clean_header(text):
    text = str(text)
    if "\r" in text or "\n" in text:
        text = text.replace("\r", " ").replace("\n", " ")
    return text


def _json_error(status, message, run_function_failed=False):
    """azmlinfsrv's ErrorResponse: AMLResponse({"message": ...}, status, json_str=True)."""
    body = json.dumps({"message": message}).encode("utf-8")
    return status, [("Content-Type", CT_JSON), ("x-ms-run-function-failed", "True" if run_function_failed else "False")], body


def _is_json_mimetype(content_type):
    if not content_type:
        return False
    mt = content_type.split(";", 1)[0].strip().lower()
    return mt == "application/json" or (mt.startswith("application/") and mt.endswith("+json"))


def _parse_input(value):
    try:
        return json.loads(value)
    except ValueError:
        return value


def _parse_get_parameters(query):
    """/score?a=1&b=[1,2]&c=x&c=y -> {"a": 1, "b": [1, 2], "c": ["x", "y"]} (values parsed as JSON when they parse)."""
    if not query:
        return {}
    if not query.isascii():
        query = query.encode("latin-1").decode("utf-8", "replace")
    grouped = {}
    for key, value in parse_qsl(query, keep_blank_values=True, encoding="utf-8", errors="replace"):
        grouped.setdefault(key, []).append(value)
    parsed = {}
    for key, values in grouped.items():
        if len(values) == 1:
            parsed[key] = _parse_input(values[0])
        else:
            parsed[key] = [_parse_input(value) for value in values]
    return parsed


def _new_request_id():
    """A random (version 4) UUID string; str(uuid.uuid4()) costs three times as much."""
    h = os.urandom(16).hex()
    return "%s-%s-4%s-%x%s-%s" % (h[:8], h[8:12], h[13:16], 8 | (int(h[16], 16) & 3), h[17:20], h[20:])


def _request_ids(hmap):
    """azmlinfsrv's request-id rules. Returns ((request_id, x_ms_request_id, client_request_id), error or None)."""
    request_id = hmap.get("x-request-id")
    if request_id is None:
        request_id = _new_request_id()
    if len(request_id) > HEADER_LIMIT:
        return ("", "", ""), "x-request-id must not exceed %d characters" % HEADER_LIMIT
    legacy = hmap.get("x-ms-request-id", "")
    client = hmap.get("x-ms-client-request-id", "")
    if legacy:
        if not client:
            client = legacy
    else:
        legacy = client or request_id
    if len(legacy) <= HEADER_LIMIT and len(client) <= HEADER_LIMIT:
        return (request_id, legacy, client), None
    return (request_id, "", ""), "x-ms-request-id and x-ms-client-request-id must not exceed %d characters" % HEADER_LIMIT


def _is_uuid(text):
    parts = text.split("-")
    if [len(part) for part in parts] != [8, 4, 4, 4, 12]:
        return False
    try:
        int("".join(parts), 16)
    except ValueError:
        return False
    return True


def walk_path(path, depth=0, indent_space=4):
    """The model directory tree as azmlinfsrv logs it on init() failure."""
    path = os.path.normpath(path)
    basename = os.path.basename(path.rstrip(os.sep)) or path
    indent = " " * depth * indent_space
    if os.path.isdir(path):
        yield "%s%s%s" % (indent, basename, os.sep)
        try:
            children = sorted(os.listdir(path))
        except OSError:
            return
        for child in children:
            for line in walk_path(os.path.join(path, child), depth + 1, indent_space):
                yield line
    else:
        yield "%s%s" % (indent, basename)


def _find_spec(name):
    try:
        return importlib.util.find_spec(name)
    except (ImportError, ValueError, AttributeError):
        return None


# --------------------------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------------------------


class ConfigError(Exception):
    pass


class Config(object):
    def __init__(self, args, env):
        self.host = args.host
        if args.port is not None:
            self.port = args.port
        else:
            self.port = self._int(env, "OEP_SERVER_PORT", 5001, minimum=0)
        if not 0 <= self.port <= 65535:
            raise ConfigError("port must be within 0..65535, got %d" % self.port)
        self.app_root = os.path.abspath(env.get("AML_APP_ROOT") or os.getcwd())
        entry = env.get("AZUREML_ENTRY_SCRIPT")
        self.entry_script_env = entry
        if entry:
            self.entry_script = entry if os.path.isabs(entry) else os.path.join(self.app_root, entry)
        else:
            # azmlinfsrv imports `main` when no entry script is configured.
            self.entry_script = os.path.join(self.app_root, "main.py")
        self.entry_script = os.path.normpath(self.entry_script)
        self.model_dir = env.get("AZUREML_MODEL_DIR") or None
        self.worker_count = self._int(env, "WORKER_COUNT", 1, minimum=1)
        self.timeout_ms = self._int(env, "SCORING_TIMEOUT_MS", 3600 * 1000, minimum=1)
        self.stuck_restart_s = float(self._int(env, "OEP_STUCK_RUN_RESTART_S", 30, minimum=1))
        secret = env.get(REPLICA_SECRET_ENV) or ""
        self.replica_secret = secret.encode("latin-1", "replace") if secret else None
        # azmlinfsrv sends x-ms-server-version unless SERVER_VERSION_LOG_RESPONSE_ENABLED says otherwise
        version_flag = env.get("SERVER_VERSION_LOG_RESPONSE_ENABLED")
        self.server_version = SERVER_ID if version_flag is None or version_flag.lower() == "true" else None
        cors = env.get("AML_CORS_ORIGINS")
        self.cors_origins_env = cors
        self.cors_origins = [origin.strip() for origin in cors.split(",")] if cors else None
        self.config_file = env.get("AZUREML_CONFIG_FILE")
        self.app_insights_enabled = (
            env.get("AML_APP_INSIGHTS_ENABLED") == "true" and _is_uuid(env.get("AML_APP_INSIGHTS_KEY") or "")
        )
        self.app_insights_key_given = "AML_APP_INSIGHTS_KEY" in env
        self.service_name = env.get("SERVICE_NAME", "ML service")
        self.service_version = env.get("SERVICE_VERSION", "1.0")
        self.path_prefix = env.get("SERVICE_PATH_PREFIX", "")

    @staticmethod
    def _int(env, name, default, minimum):
        raw = env.get(name)
        if raw is None or raw.strip() == "":
            return default
        try:
            value = int(raw.strip())
        except ValueError:
            raise ConfigError("%s must be an integer, got %r" % (name, raw)) from None
        if value < minimum:
            raise ConfigError("%s must be at least %d, got %d" % (name, minimum, value))
        return value


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="oep_server.py",
        description="oep-server %s: runs an Azure ML scoring script behind the azmlinfsrv HTTP contract." % SERVER_VERSION,
    )
    parser.add_argument("--host", default="0.0.0.0", help="interface to listen on (default 0.0.0.0)")
    parser.add_argument(
        "--port", type=int, default=None, help="port to listen on (default: $OEP_SERVER_PORT or 5001; 0 picks a free one)"
    )
    return parser.parse_args(argv)


def maybe_exec_azmlinfsrv(cfg, env):
    """OEP_USE_AZMLINFSRV=1 and azmlinfsrv on PATH: replace this process with the real server."""
    if env.get("OEP_USE_AZMLINFSRV") != "1":
        return
    exe = shutil.which("azmlinfsrv")
    if not exe:
        _err("oep-server: OEP_USE_AZMLINFSRV=1 but azmlinfsrv is not on PATH; serving with oep-server instead")
        return
    argv = [exe, "--entry_script", cfg.entry_script, "--port", str(cfg.port)]
    if env.get("WORKER_COUNT"):
        argv += ["--worker_count", str(cfg.worker_count)]
    if cfg.model_dir:
        argv += ["--model_dir", cfg.model_dir]
    if cfg.host not in ("0.0.0.0", ""):
        _err("oep-server: note: azmlinfsrv always listens on 0.0.0.0 (--host %s is not passed on)" % cfg.host)
    _out("oep-server: OEP_USE_AZMLINFSRV=1: exec %s" % " ".join(argv))
    _flush_all()
    os.execv(exe, argv)


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
    _out("\n".join(lines))
    if cfg.app_insights_enabled:
        _out("oep-server: Application Insights is not implemented by oep-server: nothing is sent")


# --------------------------------------------------------------------------------------------
# the scoring script
# --------------------------------------------------------------------------------------------


LOAD_FAILED_MARK = "oep-server: loading the entry script failed:"


def _exception_summary(ex):
    if isinstance(ex, SyntaxError) and ex.filename:
        return "%s: %s (%s, line %s)" % (type(ex).__name__, ex.msg, ex.filename, ex.lineno)
    return "".join(traceback.format_exception_only(type(ex), ex)).strip().splitlines()[-1]


class ScriptError(Exception):
    """The entry script cannot be served: import failed, init()/run() missing or unusable."""

    def __init__(self, message, show_traceback=True, trace=None):
        super().__init__(message)
        self.message = message
        self.show_traceback = show_traceback
        # The traceback of the error behind this one (e.g. the SyntaxError), shown instead of ours.
        self.trace = trace


def _prepare_sys_path(cfg):
    # The shims only fill in for packages that are not installed; appended so real ones win.
    need_shims = _find_spec("azureml_inference_server_http") is None or (
        _find_spec("azureml.contrib.services.aml_request") is None
    )
    for directory in (cfg.app_root, os.path.dirname(cfg.entry_script)):
        if directory and directory not in sys.path:
            sys.path.append(directory)
    if need_shims and SHIMS_DIR not in sys.path:
        sys.path.append(SHIMS_DIR)


def _raw_http_requested():
    """(requested, via_real_package): whether run() was decorated with @rawhttp, and by which module."""
    requested = False
    real = False
    for name in ("azureml_inference_server_http.api.aml_request", "azureml.contrib.services.aml_request"):
        module = sys.modules.get(name)
        if module is not None and getattr(module, "_rawHttpRequested", False):
            requested = True
            if not getattr(module, "__oep_shim__", False):
                real = True
    return requested, real


class UserScript(object):
    def __init__(self, cfg):
        self.cfg = cfg
        self.module = None
        self.init_fn = None
        self.run_fn = None
        self.mode = MODE_JSON
        self.param = None
        self.object_params = []
        self.has_request_headers = False
        self.real_raw = False
        self.schema_util = None
        self.decorated = False

    def load(self):
        path = self.cfg.entry_script
        if not os.path.isfile(path):
            if self.cfg.entry_script_env:
                raise ScriptError("entry script %s (AZUREML_ENTRY_SCRIPT) does not exist" % path, False)
            raise ScriptError(
                "no entry script: AZUREML_ENTRY_SCRIPT is not set and %s does not exist" % path, False
            )
        try:
            spec = importlib.util.spec_from_file_location("entry_module", path)
            module = importlib.util.module_from_spec(spec)
            sys.modules["entry_module"] = module
            spec.loader.exec_module(module)
        except BaseException as ex:
            sys.modules.pop("entry_module", None)
            # One line that names the error first (a SyntaxError with its file and line), so
            # oep can report the "load" phase with it; the traceback follows.
            _err("%s %s" % (LOAD_FAILED_MARK, _exception_summary(ex)))
            raise ScriptError("could not import the entry script %s" % path, trace=traceback.format_exc())
        self.module = module

        if not hasattr(module, "init"):
            raise ScriptError("User script at %s does not have a init() function defined." % path, False)
        if not hasattr(module, "run"):
            raise ScriptError("User script at %s does not have a run() function defined." % path, False)

        # Some Azure SDKs generate a driver module that forwards to the real script (azmlinfsrv calls
        # the real run() directly, and the driver's init()).
        run_fn = module.run
        driver = getattr(module, "driver_module", None)
        if isinstance(driver, types.ModuleType) and hasattr(driver, "run"):
            run_fn = driver.run
        self.run_fn = run_fn
        self.init_fn = module.init
        self._analyze_run()

    def _analyze_run(self):
        try:
            params = list(inspect.signature(self.run_fn).parameters.values())
        except (TypeError, ValueError):
            raise ScriptError("cannot inspect the signature of run()")
        allowed = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        if any(param.kind not in allowed for param in params):
            raise ScriptError("run() cannot accept positional-only arguments, *args, or **kwargs.", False)
        self.has_request_headers = any(param.name == "request_headers" for param in params)
        params = [param for param in params if param.name != "request_headers"]
        if not params:
            if self.has_request_headers:
                raise ScriptError('run() needs to accept an argument other than "request_headers".', False)
            raise ScriptError("run() needs to accept an argument for input data.", False)

        if "inference_schema" in sys.modules:
            try:
                import inference_schema.schema_util as schema_util

                self.schema_util = schema_util
                self.decorated = bool(schema_util.is_schema_decorated(self.run_fn))
            except Exception:
                self.schema_util = None
                self.decorated = False

        raw, real = _raw_http_requested()
        if raw and self.decorated:
            raise ScriptError("run() cannot be decorated with both @rawhttp and @input_schema", False)
        if raw:
            self.mode = MODE_RAW
            self.param = params[0].name
            self.real_raw = real
        elif self.decorated:
            self.mode = MODE_OBJECT
            self.object_params = params
        else:
            self.mode = MODE_JSON
            self.param = params[0].name

    def describe(self):
        if self.mode == MODE_RAW:
            return "run() is decorated with @rawhttp: it receives the raw request"
        if self.mode == MODE_OBJECT:
            return "run() is decorated with @input_schema: it receives %s" % ", ".join(p.name for p in self.object_params)
        return "run() receives the request body as a string"


def _print_model_tree(model_dir):
    if not model_dir:
        _err("AZUREML_MODEL_DIR is not set: no model directory to list.")
        return
    if not os.path.exists(model_dir):
        _err("Model directory %s does not exist." % model_dir)
        return
    _err("Model Directory Contents:")
    tree = walk_path(model_dir)
    count = 0
    for line in tree:
        if count >= MODEL_TREE_LINES:
            _err("Output Truncated. First %d lines shown." % MODEL_TREE_LINES)
            break
        _err(line)
        count += 1


def load_and_init(cfg):
    """Import the entry script and call init() once. On failure: log, then exit with code 3."""
    _prepare_sys_path(cfg)
    # azureml.ai.monitoring for scripts that collect data (data_collector), before they import it
    collecting = oep_monitoring.install(_find_spec)
    if collecting:
        _out(collecting)
    script = UserScript(cfg)
    try:
        script.load()
    except ScriptError as ex:
        _err("oep-server: init() failed: %s" % ex.message)
        if ex.show_traceback:
            _err(ex.trace or traceback.format_exc())
        _print_model_tree(cfg.model_dir)
        _flush_all()
        os._exit(EXIT_INIT_FAILED)
    try:
        script.init_fn()
    except BaseException:
        _err("oep-server: init() failed")
        _err(traceback.format_exc())
        _print_model_tree(cfg.model_dir)
        _flush_all()
        os._exit(EXIT_INIT_FAILED)
    return script


# --------------------------------------------------------------------------------------------
# swagger
# --------------------------------------------------------------------------------------------


def _swagger_document(version, cfg, input_schema, output_schema):
    name = cfg.service_name
    prefix = "/" + cfg.path_prefix.strip("/") if cfg.path_prefix else ""
    info = {
        "title": name,
        "description": "API specification for the Azure Machine Learning service %s" % name,
        "version": cfg.service_version,
    }
    bearer = {"type": "apiKey", "name": "Authorization", "in": "header", "description": "For example: Bearer abc123"}
    error_schema = {"type": "object", "properties": {"message": {"type": "string"}}}
    failed = "The service failed to execute due to an error."
    health_desc = "Simple health check endpoint to ensure the service is up at any given point."
    healthy_desc = "If service is up and running, this response will be returned with the content 'Healthy'"
    score_desc = "Run web service's model and get the prediction output"
    payload_desc = "The input payload for executing the real-time machine learning service."
    ok_desc = "The service processed the input correctly and provided a result prediction, if applicable."
    if version == "2":
        err_ref = {"$ref": "#/definitions/ErrorResponse"}
        return {
            "swagger": "2.0",
            "info": info,
            "schemes": ["https"],
            "consumes": ["application/json"],
            "produces": ["application/json"],
            "securityDefinitions": {"Bearer": bearer},
            "paths": {
                prefix + "/": {
                    "get": {
                        "operationId": "ServiceHealthCheck",
                        "description": health_desc,
                        "responses": {
                            "200": {
                                "description": healthy_desc,
                                "schema": {"type": "string"},
                                "examples": {"application/json": "Healthy"},
                            },
                            "default": {"description": failed, "schema": err_ref},
                        },
                    }
                },
                prefix + "/score": {
                    "post": {
                        "operationId": "RunMLService",
                        "description": score_desc,
                        "security": [{"Bearer": []}],
                        "parameters": [
                            {
                                "name": "serviceInputPayload",
                                "in": "body",
                                "description": payload_desc,
                                "schema": {"$ref": "#/definitions/ServiceInput"},
                            }
                        ],
                        "responses": {
                            "200": {"description": ok_desc, "schema": {"$ref": "#/definitions/ServiceOutput"}},
                            "default": {"description": failed, "schema": err_ref},
                        },
                    }
                },
                prefix + "/swagger.json": {
                    "get": {
                        "operationId": "GetSwaggerSpec",
                        "description": "Get the Swagger specification.",
                        "parameters": [
                            {"name": "version", "in": "query", "required": False, "type": "integer", "enum": [2, 3]}
                        ],
                        "responses": {
                            "200": {"description": "The Swagger specification.", "schema": {"type": "string"}},
                            "default": {"description": failed, "schema": err_ref},
                        },
                    }
                },
            },
            "definitions": {"ServiceInput": input_schema, "ServiceOutput": output_schema, "ErrorResponse": error_schema},
        }
    err_content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
    return {
        "openapi": "3.1.0" if version == "3.1" else "3.0.3",
        "info": info,
        "security": [{"Bearer": []}],
        "paths": {
            prefix + "/": {
                "get": {
                    "operationId": "ServiceHealthCheck",
                    "description": health_desc,
                    "responses": {
                        "200": {
                            "description": healthy_desc,
                            "content": {"text/plain": {"schema": {"type": "string", "example": "Healthy"}}},
                        },
                        "default": {"description": failed, "content": err_content},
                    },
                }
            },
            prefix + "/score": {
                "post": {
                    "operationId": "RunMLService",
                    "description": score_desc,
                    "security": [{"Bearer": []}],
                    "requestBody": {
                        "description": payload_desc,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ServiceInput"}}},
                    },
                    "responses": {
                        "200": {
                            "description": ok_desc,
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/ServiceOutput"}}
                            },
                        },
                        "default": {"description": failed, "content": err_content},
                    },
                }
            },
            prefix + "/swagger.json": {
                "get": {
                    "operationId": "GetSwaggerSpec",
                    "description": "Get the Swagger specification.",
                    "parameters": [
                        {
                            "name": "version",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "enum": [2, 3]},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "The Swagger specification.",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        },
                        "default": {"description": failed, "content": err_content},
                    },
                }
            },
        },
        "components": {
            "schemas": {"ServiceInput": input_schema, "ServiceOutput": output_schema, "ErrorResponse": error_schema},
            "securitySchemes": {"Bearer": bearer},
        },
    }


class Swagger(object):
    """Swagger documents by version alias, from the app root's files or generated (see README)."""

    def __init__(self, cfg, script):
        self.documents = {}
        self.supported = []
        self.sources = {}
        for version, aliases, files in SWAGGER_BUILDERS:
            document = None
            source = None
            for file_name in files:
                path = os.path.join(cfg.app_root, file_name)
                try:
                    with open(path, "r", encoding="utf-8") as handle:
                        document = json.load(handle)
                except FileNotFoundError:
                    continue
                if document:
                    source = path
                    break
            if not document:
                document = self._generate(version, aliases, cfg, script)
                source = "generated" if document else None
            if document:
                encoded = json.dumps(document).encode("utf-8")
                for alias in aliases:
                    self.documents[alias] = encoded
                self.supported.append(version)
                self.sources[version] = source
        self.supported.sort()

    @staticmethod
    def _generate(version, aliases, cfg, script):
        # azmlinfsrv generates swaggers through inference-schema, one of its dependencies: for an
        # undecorated run() a generic document with empty object schemas, which oep-server writes
        # itself, so that it needs no inference-schema for it.
        # An entry module may give its schemas itself (oep's MLflow script, from the signature).
        hook = getattr(script.module, "oep_swagger_schemas", None)
        if callable(hook):
            input_schema, output_schema = hook()
            return _swagger_document(version, cfg, input_schema, output_schema)
        run_fn = script.run_fn
        empty = {"type": "object", "example": {}}
        util = script.schema_util
        if util is None:
            return _swagger_document(version, cfg, empty, empty)
        supported = util.get_supported_versions(run_fn)
        if all(alias not in supported for alias in aliases):
            return None
        if script.decorated:
            input_schema = util.get_input_schema(run_fn)
            output_schema = util.get_output_schema(run_fn)
        else:
            input_schema = output_schema = empty
        return _swagger_document(version, cfg, input_schema, output_schema)

    def describe(self):
        if not self.supported:
            return "no swagger (run() is decorated for no swagger version)"
        return ", ".join("%s (%s)" % (version, self.sources[version]) for version in self.supported)

    def respond(self, query):
        version = None
        if query:
            for key, value in parse_qsl(query, keep_blank_values=True):
                if key == "version":
                    version = value
                    break
        if version is None:
            version = "2"
        if version not in VALID_SWAGGER_VERSIONS:
            listed = self.supported or ALL_SWAGGER_VERSIONS
            return _json_error(
                404, "Swagger version [%s] is not valid. Supported versions: [%s]." % (version, ", ".join(listed))
            )
        document = self.documents.get(version)
        if not document:
            return _json_error(
                404,
                "Swagger version [%s] is not supported for the scoring script. Supported swagger versions: [%s]."
                % (version, ", ".join(self.supported)),
            )
        return 200, [("Content-Type", CT_JSON), ("x-ms-run-function-failed", "False")], document


# --------------------------------------------------------------------------------------------
# run() execution with SCORING_TIMEOUT_MS
# --------------------------------------------------------------------------------------------


class ScoringTimeout(BaseException):
    """Raised into run() by SIGALRM. A BaseException so that `except Exception` in run() cannot swallow it."""


OUTCOME_OK = 0
OUTCOME_ERROR = 1
OUTCOME_TIMEOUT = 2

_alarm_armed = False


def _alarm_handler(signum, frame):
    if _alarm_armed:
        if oep_debug.attached():
            # --debug: no timeout while a debugger holds run() (a breakpoint); checked again later.
            signal.setitimer(signal.ITIMER_REAL, oep_debug.RECHECK_S)
            return
        raise ScoringTimeout()


class Job(object):
    __slots__ = ("fn", "kwargs", "done", "started", "outcome", "value", "elapsed_ms", "tb", "abandoned")

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


class Executor(object):
    """Runs run() calls one at a time on the main thread (azmlinfsrv runs one request per worker)."""

    def __init__(self, timeout_ms, stuck_restart_s=30.0, on_stuck=lambda stuck: None):
        self.timeout_ms = timeout_ms
        self.stuck_restart_s = stuck_restart_s
        self.on_stuck = on_stuck
        self.timeout_s = timeout_ms / 1000.0
        self.jobs = queue.SimpleQueue()
        self.can_alarm = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()

    def submit(self, fn, kwargs):
        """Called from connection threads: queue the call and wait for it (or for the timeout)."""
        job = Job(fn, kwargs)
        self.jobs.put(job)
        limit = self.timeout_s + TIMEOUT_GRACE_S
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
                # SIGALRM could not interrupt run() (e.g. blocked in C code): answer without it.
                job.abandoned = True
                answer = Job(None, None)
                answer.outcome = OUTCOME_TIMEOUT
                answer.elapsed_ms = (time.perf_counter() - started) * 1000.0
                _err(
                    "oep-server: run() still busy %.0f ms after SCORING_TIMEOUT_MS=%d; answering 500 without waiting"
                    % (answer.elapsed_ms, self.timeout_ms)
                )
                threading.Thread(target=self._restart_if_stuck, args=(job,), daemon=True).start()
                return answer
            wait = remaining
        return job

    def _restart_if_stuck(self, job):
        """A run() that neither returns nor lets SIGALRM in blocks this worker for good: after
        stuck_restart_s, end the worker so the parent starts a fresh one (gunicorn kills such workers too)."""
        # Count the stuck call as in flight, so other workers stop handing connections to this one.
        self.on_stuck(True)
        if job.done.acquire(timeout=self.stuck_restart_s):
            self.on_stuck(False)
            return
        _err(
            "oep-server: run() has been stuck for %.0f s past SCORING_TIMEOUT_MS; restarting the worker"
            % self.stuck_restart_s
        )
        _flush_all()
        os._exit(EXIT_STUCK_WORKER)

    def loop(self):
        global _alarm_armed
        get = self.jobs.get
        perf = time.perf_counter
        can_alarm = self.can_alarm
        timeout_s = self.timeout_s
        while True:
            job = get()
            job.started = t0 = perf()
            try:
                try:
                    if can_alarm:
                        _alarm_armed = True
                        signal.setitimer(signal.ITIMER_REAL, timeout_s)
                    value = job.fn(**job.kwargs)
                finally:
                    if can_alarm:
                        _alarm_armed = False
                        signal.setitimer(signal.ITIMER_REAL, 0)
                job.value = value
                job.outcome = OUTCOME_OK
            except ScoringTimeout:
                job.outcome = OUTCOME_TIMEOUT
                job.tb = traceback.format_exc()
            except BaseException:
                job.outcome = OUTCOME_ERROR
                job.tb = traceback.format_exc()
            job.elapsed_ms = (perf() - t0) * 1000.0
            if job.abandoned:
                job.value = None
            job.done.release()
            job = None


# --------------------------------------------------------------------------------------------
# multi-worker: shared idle/busy table and connection hand-off
# --------------------------------------------------------------------------------------------


class Cluster(object):
    """State shared by the workers of one server: requests in flight per worker (-1 = not serving yet)
    and one SOCK_SEQPACKET channel per worker over which other workers pass it connections (SCM_RIGHTS)."""

    def __init__(self, count):
        self.count = count
        self.table = mmap.mmap(-1, 4 * count)
        for slot in range(count):
            struct.pack_into("i", self.table, 4 * slot, -1)
        self.channels = [socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET) for _ in range(count)]

    def publish(self, slot, in_flight):
        struct.pack_into("i", self.table, 4 * slot, in_flight)

    def find_idle(self, me):
        count = self.count
        for offset in range(1, count):
            slot = (me + offset) % count
            if struct.unpack_from("i", self.table, 4 * slot)[0] == 0:
                return slot
        return None

    def find_less_loaded(self, me, mine):
        best, best_load = None, mine - 1
        for offset in range(1, self.count):
            slot = (me + offset) % self.count
            load = struct.unpack_from("i", self.table, 4 * slot)[0]
            if 0 <= load < best_load:
                best, best_load = slot, load
        return best

    def send_connection(self, slot, sock):
        try:
            self.channels[slot][1].sendmsg(
                [b"C"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [sock.fileno()]))]
            )
            return True
        except OSError:
            return False

    def receive_connections(self, slot, on_fd):
        rx = self.channels[slot][0]
        item = array.array("i").itemsize
        while True:
            try:
                msg, ancdata, _, _ = rx.recvmsg(16, socket.CMSG_SPACE(4 * item))
            except InterruptedError:
                continue
            except OSError:
                return
            if not msg and not ancdata:
                return
            for level, kind, data in ancdata:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds = array.array("i")
                    fds.frombytes(data[: len(data) - (len(data) % item)])
                    for fd in fds:
                        on_fd(fd)


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------


class HttpError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class HeaderLimitError(Exception):
    """A head over gunicorn's limits: answered the way gunicorn answers it (before the app sees it)."""


def gunicorn_error(status, reason, message):
    """gunicorn's own error answer (HTML, Connection: close) for requests it rejects itself."""
    page = (
        "<html>\n  <head>\n    <title>%s</title>\n  </head>\n  <body>\n    <h1><p>%s</p></h1>\n    %s\n  </body>\n</html>\n"
        % (reason, reason, html.escape(message))
    ).encode("utf-8")
    head = "HTTP/1.1 %d %s\r\nConnection: close\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % (
        status,
        reason,
        len(page),
    )
    return head.encode("latin-1") + page


class Request(object):
    __slots__ = ("method", "target", "path", "query", "version", "headers", "hmap", "body", "remote")


def parse_head(head):
    text = head.decode("latin-1")
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        raise HttpError(400, "Bad Request")
    method, target, version = parts
    if not version.startswith("HTTP/1.") or not method:
        raise HttpError(400, "Bad Request")
    if len(lines) > MAX_HEADER_FIELDS + 1:
        raise HeaderLimitError("limit request headers fields")
    headers = []
    hmap = {}
    for line in lines[1:]:
        if not line:
            continue
        if len(line) + 2 > MAX_HEADER_LINE_BYTES:
            raise HeaderLimitError("limit request headers fields size")
        name, sep, value = line.partition(":")
        if not sep or not name or name[-1] in " \t":
            raise HttpError(400, "Bad Request")
        value = value.strip(" \t")
        headers.append((name, value))
        key = name.lower()
        old = hmap.get(key)
        # Repeated headers reach werkzeug joined with "," (gunicorn's environ); keep that view.
        hmap[key] = value if old is None else old + "," + value
    if target.startswith("/"):
        raw_path, _, query = target.partition("?")
    elif target == "*":
        raw_path, query = "*", ""
    else:
        parts = urlsplit(target)
        raw_path, query = parts.path or "/", parts.query
    req = Request()
    req.method = method
    req.target = target
    req.path = unquote(raw_path) if "%" in raw_path else raw_path
    req.query = query
    req.version = version
    req.headers = headers
    req.hmap = hmap
    req.body = b""
    req.remote = None
    return req


def _recv_more(sock, buf):
    chunk = sock.recv(65536)
    if not chunk:
        raise ConnectionError("peer closed the connection mid-request")
    return buf + chunk


def read_exact(sock, buf, n):
    if len(buf) >= n:
        return buf[:n], buf[n:]
    data = bytearray(n)
    view = memoryview(data)
    have = len(buf)
    view[:have] = buf
    while have < n:
        got = sock.recv_into(view[have:], n - have)
        if not got:
            raise ConnectionError("peer closed the connection mid-body")
        have += got
    return bytes(data), b""


def read_chunked(sock, buf):
    out = []
    while True:
        while b"\r\n" not in buf:
            if len(buf) > 8192:
                raise HttpError(400, "Bad Request")
            buf = _recv_more(sock, buf)
        line, buf = buf.split(b"\r\n", 1)
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise HttpError(400, "Bad Request") from None
        if size < 0:
            raise HttpError(400, "Bad Request")
        if size == 0:
            while True:
                while b"\r\n" not in buf:
                    if len(buf) > MAX_HEAD_BYTES:
                        raise HttpError(400, "Bad Request")
                    buf = _recv_more(sock, buf)
                line, buf = buf.split(b"\r\n", 1)
                if not line:
                    return b"".join(out), buf
        chunk, buf = read_exact(sock, buf, size + 2)
        out.append(chunk[:size])


_HOP_BY_HOP = frozenset(("content-length", "transfer-encoding", "connection", "keep-alive", "date"))
_ID_HEADERS = frozenset(("x-request-id", "x-ms-request-id", "x-ms-client-request-id"))


def serialize_response(status, headers, body, head_only, keep_alive, http10):
    parts = [_status_line(status)]
    for name, value in headers:
        parts.append("%s: %s\r\n" % (name, value))
    no_body = status in (204, 304) or 100 <= status < 200
    if not no_body:
        parts.append("Content-Length: %d\r\n" % len(body))
    parts.append("Date: %s\r\n" % _http_date())
    if not keep_alive:
        parts.append("Connection: close\r\n")
    elif http10:
        parts.append("Connection: keep-alive\r\n")
    parts.append("\r\n")
    head = _encode_head("".join(parts))
    if head_only or no_body or not body:
        return head
    return head + body


def response_parts(value):
    """(status, headers, body) of a Response returned by run(): oep's AMLResponse or a werkzeug/Flask one."""
    status = int(value.status_code)
    headers = []
    for name, header_value in value.headers:
        if name.lower() in _HOP_BY_HOP:
            continue
        if isinstance(header_value, bool):
            header_value = "True" if header_value else "False"
        headers.append((_clean_header(name), _clean_header(header_value)))
    body = value.get_data()
    if isinstance(body, str):
        body = body.encode("utf-8")
    if status >= 500:
        # as azmlinfsrv: headers["x-ms-run-function-failed"] = True (replace) or add it
        out = []
        placed = False
        for name, header_value in headers:
            if name.lower() == "x-ms-run-function-failed":
                if not placed:
                    out.append((name, "True"))
                    placed = True
            else:
                out.append((name, header_value))
        if not placed:
            out.append(("x-ms-run-function-failed", "True"))
        headers = out
    return status, headers, bytes(body)


def _is_response(value):
    return (
        hasattr(value, "status_code")
        and hasattr(value, "headers")
        and hasattr(value, "get_data")
        and not isinstance(value, (dict, list, str, bytes))
    )


class Worker(object):
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
        self._werkzeug_request = None
        if script.mode == MODE_RAW and script.real_raw:
            try:
                from werkzeug.wrappers import Request as WerkzeugRequest

                self._werkzeug_request = WerkzeugRequest
            except Exception:
                self._werkzeug_request = None

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
            _err("oep-server: connection handler failed:\n" + traceback.format_exc())
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
                _linger(sock)
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
            _linger(sock)
            return False, b""

        status, headers, body, request_id = self.dispatch(req)

        connection = hmap.get("connection")
        if http10:
            keep = connection is not None and "keep-alive" in connection.lower()
        else:
            keep = connection is None or "close" not in connection.lower()
        sock.sendall(serialize_response(status, headers, body, req.method == "HEAD", keep, http10))
        elapsed = (time.perf_counter() - t0) * 1000.0
        # the path as sent (no query: it can be long or carry data), and the request id when there is
        # one; health probes are not logged (azmlinfsrv does not log them either): every 2 s, forever
        if not _is_health_probe(req):
            self._access_log(req.method, req.target.partition("?")[0], status, elapsed, request_id or hmap.get("x-request-id"))
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
        upper = _status_line(status).encode("latin-1")
        answer = ("HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, "Unknown"))).encode("latin-1") + answer[len(upper):]
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

    # -- routing ---------------------------------------------------------------------------------
    def dispatch(self, req):
        """(status, headers, body, x-request-id for the log) for one request."""
        path = req.path
        method = req.method
        try:
            if path == "/score":
                if method in SCORE_METHODS:
                    return self._blueprint(req, self._handle_score, True)
                status, headers, body = _json_error(405, MSG_METHOD_NOT_ALLOWED)
                headers.append(("x-ms-run-fn-exec-ms", "0.000"))
                return status, headers, body, None
            if path == "/":
                if method == "GET" or method == "HEAD":
                    return self._blueprint(req, _health, False)
                if method == "OPTIONS":
                    return self._blueprint(req, _default_options, False)
                return _json_error(405, MSG_METHOD_NOT_ALLOWED) + (None,)
            if path == "/swagger.json":
                if method == "GET" or method == "HEAD":
                    return self._blueprint(req, self._handle_swagger, False)
                if method == "OPTIONS":
                    return self._blueprint(req, _default_options, False)
                return _json_error(405, MSG_METHOD_NOT_ALLOWED) + (None,)
            return _json_error(404, MSG_NOT_FOUND) + (None,)
        except Exception:
            _err("oep-server: unexpected error:\n" + traceback.format_exc())
            return _json_error(500, MSG_INTERNAL) + (None,)

    def _blueprint(self, req, handler, is_score):
        """What azmlinfsrv's blueprint hooks do around a route: request ids (or 431), then the
        response headers x-ms-server-version, x-request-id, x-ms-request-id, x-ms-client-request-id, TraceId."""
        hmap = req.hmap
        ids, error = _request_ids(hmap)
        if ids[0] and hmap.get("x-ms-request-id"):
            _err("oep-server: warning: " + MSG_REQUEST_ID_DEPRECATED)
        exec_ms = None
        if error is not None:
            status, headers, body = _json_error(431, error)
        else:
            try:
                if is_score:
                    status, headers, body, exec_ms = handler(req)
                else:
                    status, headers, body = handler(req)
            except Exception:
                _err("oep-server: unexpected error:\n" + traceback.format_exc())
                status, headers, body = _json_error(500, MSG_INTERNAL)
        if is_score:
            headers.append(("x-ms-run-fn-exec-ms", "%.3f" % (exec_ms or 0.0)))
            headers = [item for item in headers if item[0].lower() not in _ID_HEADERS]
        if self.cfg.server_version is not None:
            headers.append(("x-ms-server-version", self.cfg.server_version))
        request_id, legacy, client = ids
        if request_id:
            headers.append(("x-request-id", request_id))
        if legacy:
            headers.append(("x-ms-request-id", legacy))
        if client:
            headers.append(("x-ms-client-request-id", client))
        trace_id = hmap.get("traceid")
        if trace_id is not None:
            headers.append(("TraceId", trace_id))
        if self.cfg.cors_origins is not None:
            add_cors_headers(self.cfg.cors_origins, req, headers)
        return status, headers, body, request_id

    def _handle_swagger(self, req):
        return self.swagger.respond(req.query)

    def _handle_score(self, req):
        script = self.script
        mode = script.mode
        method = req.method
        if mode == MODE_RAW:
            kwargs = {script.param: self._raw_request(req)}
        elif method == "POST":
            if mode == MODE_JSON:
                content_type = req.hmap.get("content-type")
                if content_type and content_type.split(";", 1)[0].strip().lower() in FORM_MIMETYPES:
                    # werkzeug parses form bodies into request.form: request.data (what azmlinfsrv passes) is empty
                    kwargs = {script.param: ""}
                else:
                    try:
                        kwargs = {script.param: req.body.decode("utf-8")}
                    except UnicodeDecodeError as ex:
                        return _json_error(400, "Input cannot be decoded as UTF-8: %s" % (ex,)) + (None,)
            else:
                if not _is_json_mimetype(req.hmap.get("content-type")):
                    return _json_error(415, "Expects Content-Type to be application/json") + (None,)
                body = req.body
                try:
                    parsed = json.loads(body)
                except json.JSONDecodeError as ex:
                    if body:
                        return _json_error(400, "POST body could not be decoded as JSON: %s" % (ex,)) + (None,)
                    return _json_error(400, "POST body is empty. Expecting a JSON dictionary.") + (None,)
                if not isinstance(parsed, dict):
                    return _json_error(400, "POST body should be a JSON dictionary.") + (None,)
                kwargs, error = self._extract_parameters(parsed)
                if error is not None:
                    return _json_error(400, error) + (None,)
        elif method == "GET":
            parsed = _parse_get_parameters(req.query)
            if mode == MODE_JSON:
                kwargs = {script.param: json.dumps(parsed)}
            else:
                kwargs, error = self._extract_parameters(parsed)
                if error is not None:
                    return _json_error(400, error) + (None,)
        elif method == "OPTIONS":
            return 200, [("Content-Type", CT_HTML), ("x-ms-run-function-failed", "False")], b"", None
        else:
            # HEAD is only routed to run() with @rawhttp
            return _json_error(405, "Method not allowed") + (None,)

        if script.has_request_headers:
            kwargs["request_headers"] = dict(wsgi_style_headers(req.headers))

        job = self.executor.submit(oep_monitoring.bind(script.run_fn, req.hmap), kwargs)
        exec_ms = job.elapsed_ms
        outcome = job.outcome
        if outcome == OUTCOME_OK:
            value = job.value
            job.value = None
            if _is_response(value):
                _out("oep-server: run() output is HTTP Response")
                try:
                    status, headers, body = response_parts(value)
                except Exception:
                    _err("oep-server: could not read the response run() returned:\n" + traceback.format_exc())
                    status, headers, body = _json_error(500, MSG_INTERNAL)
                return status, headers, body, exec_ms
            try:
                # AMLResponse(None, ...) answers {} (azmlinfsrv wraps every return value in one)
                body = b"{}" if value is None else json.dumps(value).encode("utf-8")
            except Exception:
                _err("oep-server: run() returned a value that is not JSON serialisable:\n" + traceback.format_exc())
                return _json_error(500, MSG_INTERNAL) + (exec_ms,)
            return 200, [("Content-Type", CT_JSON), ("x-ms-run-function-failed", "False")], body, exec_ms
        if outcome == OUTCOME_TIMEOUT:
            _err(
                "oep-server: run() timed out after %d ms (SCORING_TIMEOUT_MS)%s"
                % (self.executor.timeout_ms, (":\n" + job.tb) if job.tb else "")
            )
            return _json_error(500, "Scoring timeout after %d ms" % self.executor.timeout_ms, True) + (exec_ms,)
        _err("oep-server: run() raised an exception:\n" + (job.tb or ""))
        return _json_error(500, MSG_RUN_FAILED, True) + (exec_ms,)

    def _extract_parameters(self, body):
        kwargs = {}
        for param in self.script.object_params:
            value = body.get(param.name, param.default)
            if value is inspect.Parameter.empty:
                return None, "A value is not provided for the %r parameter." % (param.name,)
            kwargs[param.name] = value
        return kwargs, None

    def _raw_request(self, req):
        query = req.query.encode("latin-1")
        if self._werkzeug_request is not None:
            environ = build_environ(req.method, req.path, query, req.headers, req.body, req.remote, self.server_addr)
            return self._werkzeug_request(environ)
        return AMLRequest(req.method, req.path, query, req.headers, req.body, req.remote, self.server_addr)


# What flask-cors (CORS(blueprint, methods=["GET", "POST"], origins=AML_CORS_ORIGINS), as azmlinfsrv
# sets it up) adds to the answers of the scoring routes. Its defaults: the request's origin echoed
# (never "*" for a request with an Origin), every requested header allowed, no credentials.
CORS_METHODS = ("GET", "POST")
_REGEX_CHARS = frozenset("*\\]?$^[()")


def _cors_match(origin, pattern):
    if _REGEX_CHARS.isdisjoint(pattern):
        return origin == pattern
    try:
        return re.match(pattern, origin, re.IGNORECASE) is not None
    except re.error:
        return False


def add_cors_headers(origins, req, headers):
    if any(name.lower() == "access-control-allow-origin" for name, _ in headers):
        return  # the script set its own (e.g. @rawhttp with AMLResponse headers)
    hmap = req.hmap
    origin = hmap.get("origin")
    wildcard = "*" in origins
    if origin is not None:
        if not (wildcard or any(_cors_match(origin, pattern) for pattern in origins)):
            return
        allowed = [origin]
    elif wildcard:
        allowed = ["*"]
    else:
        allowed = sorted(pattern for pattern in origins if _REGEX_CHARS.isdisjoint(pattern))
        if not allowed:
            return
    for value in allowed:
        headers.append(("Access-Control-Allow-Origin", value))
    requested_method = hmap.get("access-control-request-method")
    if req.method == "OPTIONS" and requested_method is not None and requested_method.upper() in CORS_METHODS:
        requested_headers = hmap.get("access-control-request-headers")
        if requested_headers:
            names = sorted(name.strip() for name in requested_headers.split(",") if name.strip())
            if names:
                headers.append(("Access-Control-Allow-Headers", ", ".join(names)))
        headers.append(("Access-Control-Allow-Methods", ", ".join(CORS_METHODS)))
    if allowed != ["*"] and (
        len(origins) > 1 or len(allowed) > 1 or any(not _REGEX_CHARS.isdisjoint(pattern) for pattern in origins)
    ):
        headers.append(("Vary", "Origin"))


def _health(req):
    return 200, [("Content-Type", CT_HTML)], b"Healthy"


def _is_health_probe(req):
    """GET or HEAD on /: the readiness and liveness route, open to the supervisor's probes (it says only Healthy)."""
    return req.path == "/" and req.method in ("GET", "HEAD")


def _linger(sock, limit=1 << 20, timeout_s=1.0):
    """After an answer sent before the request's body was read: shut the sending side and drop what the
    client still sends for a moment, so its TCP stack does not reset the connection before it reads the answer."""
    try:
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(timeout_s)
        dropped = 0
        while dropped < limit:
            chunk = sock.recv(65536)
            if not chunk:
                break
            dropped += len(chunk)
    except OSError:
        pass


def _default_options(req):
    return 200, [("Content-Type", CT_HTML), ("Allow", "GET, HEAD, OPTIONS")], b""


# --------------------------------------------------------------------------------------------
# processes
# --------------------------------------------------------------------------------------------


def _exit_now(signum, frame):
    _flush_all()
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
    signal.signal(signal.SIGALRM, _alarm_handler)
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
        _err("oep-server: init() failed: cannot load the swagger files")
        _err(traceback.format_exc())
        _flush_all()
        os._exit(EXIT_INIT_FAILED)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGALRM})
    if slot == 0:
        _out("oep-server: %s; swagger: %s" % (script.describe(), swagger.describe()))
    worker = Worker(cfg, script, swagger, lsock, port, slot, cluster)
    if cluster is not None:
        # Idle as soon as initialised (before the parent lets anyone accept, for the first one):
        # others hand it connections from now on. Connections handed over before this worker's
        # hand-off thread runs wait in its channel.
        cluster.publish(slot, 0)
    _out("oep-server: worker %d (pid %d) initialised" % (slot, os.getpid()))
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
        _out("oep-server: ready on http://%s:%d" % (cfg.host, port))
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
        _flush_all()
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
                _err("oep-server: worker %d crashed:\n%s" % (slot, traceback.format_exc()))
            finally:
                _flush_all()
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
        _flush_all()
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
                    slot, _ = self.workers.pop(pid, (None, 0))
                    code = _exit_code(status)
                    if code != EXIT_INIT_FAILED:
                        _err("oep-server: worker %s exited with code %d before it was ready" % (slot, code))
                    self.stop_all(EXIT_INIT_FAILED if code in (EXIT_INIT_FAILED, 0) else 1)
            self.lsock.listen(socket.SOMAXCONN)
            os.close(self.go_w)
            self.go_w = None
            _out("oep-server: ready on http://%s:%d" % (self.cfg.host, self.port))
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
                _err("oep-server: worker %d failed to initialise again; stopping" % slot)
                self.stop_all(EXIT_INIT_FAILED)
            if self.cluster is not None:
                self.cluster.publish(slot, -1)
            _err("oep-server: worker %d (pid %d) exited with code %d; starting a new one" % (slot, pid, code))
            if time.monotonic() - started < 1.0:
                time.sleep(1.0)  # do not spin on a worker that dies at once
            self.spawn(slot, False)


def _restore_user_umask(environ):
    """oep's daemon runs with umask 077 so its files are private; it passes the umask it was started
    with in OEP_UMASK, and the scoring script gets that one back (files it writes are as the user's)."""
    raw = environ.pop("OEP_UMASK", None)
    if raw:
        try:
            os.umask(int(raw, 8) & 0o777)
        except ValueError:
            pass


def main(argv=None):
    _setup_stdio()
    _restore_user_umask(os.environ)
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        cfg = Config(args, os.environ)
        debug = oep_debug.settings(os.environ)
    except (ConfigError, ValueError) as ex:
        _err("oep-server: %s" % ex)
        return EXIT_INIT_FAILED
    if debug is not None:
        cfg.worker_count = 1
    maybe_exec_azmlinfsrv(cfg, os.environ)
    # Kept in the config only: the scoring script has no use for it, nor its children.
    os.environ.pop(REPLICA_SECRET_ENV, None)
    try:
        lsock = bind_socket(cfg.host, cfg.port)
    except OSError as ex:
        _err("oep-server: cannot listen on %s:%d: %s" % (cfg.host, cfg.port, ex))
        return EXIT_BIND_FAILED
    port = lsock.getsockname()[1]
    print_banner(cfg, port)
    if debug is not None:
        # --debug: debugpy first (it may wait for a debugger), then one worker in this process.
        code = oep_debug.start(debug, _out, _err)
        if code:
            return code
        worker_main(cfg, lsock, port, 0, None, in_process=True)
    elif hasattr(os, "fork"):
        Supervisor(cfg, lsock, port).run()
    else:
        worker_main(cfg, lsock, port, 0, None, in_process=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
