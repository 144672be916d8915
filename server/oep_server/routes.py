"""The routes and their answers, as azmlinfsrv's blueprint gives them: /, /score, /swagger.json,
request ids, error bodies, CORS."""

import inspect
import json
import os
import re
import threading
import traceback
from urllib.parse import parse_qsl

import oep_monitoring
from oep_aml_api import AMLRequest, build_environ, wsgi_style_headers

from .output import write_err, write_out
from .protocol import CT_HTML, CT_JSON, HOP_BY_HOP, clean_header
from .response import Response, dumps, json_error, json_ok
from .script import MODE_JSON, MODE_RAW
from .executor import OUTCOME_OK, OUTCOME_TIMEOUT


HEADER_LIMIT = 100  # x-request-id & co., as in azmlinfsrv
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
FORM_MIMETYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
SCORE_METHODS = ("GET", "POST", "OPTIONS", "HEAD")


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


class _RandomPool(object):
    """os.urandom read 4 KiB at a time, kept as hex text: one system call and one hex() per 256
    request ids rather than one each. Emptied in a forked child, so that two workers never hand out
    the same bytes."""

    SIZE = 4096

    def __init__(self):
        self.hex = ""
        self.pos = 0
        self.lock = threading.Lock()  # connection threads make ids too
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._forget)

    def _forget(self):
        self.hex = ""
        self.pos = 0
        self.lock = threading.Lock()

    def take32(self):
        """32 random hex digits (16 bytes)."""
        with self.lock:
            pos = self.pos
            if pos + 32 > len(self.hex):
                self.hex = os.urandom(self.SIZE).hex()
                pos = 0
            self.pos = pos + 32
            return self.hex[pos:pos + 32]


_random_pool = _RandomPool()
# A version 4 UUID's variant digit (binary 10xx) for a random hex digit: its two low bits kept.
_VARIANT_DIGIT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def _new_request_id():
    """A random (version 4) UUID string; str(uuid.uuid4()) costs several times as much."""
    h = _random_pool.take32()
    return "%s-%s-4%s-%s%s-%s" % (h[:8], h[8:12], h[13:16], _VARIANT_DIGIT[h[16]], h[17:20], h[20:])


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


_ID_HEADERS = frozenset(("x-request-id", "x-ms-request-id", "x-ms-client-request-id"))


def response_of(value, run_ms):
    """The answer for a response object run() returned: oep's AMLResponse or a werkzeug/Flask one."""
    status = int(value.status_code)
    headers = []
    for name, header_value in value.headers:
        lower = name.lower()
        if lower in HOP_BY_HOP or lower in _ID_HEADERS:
            # the request-id headers are the blueprint's (azmlinfsrv's hooks replace the script's)
            continue
        if isinstance(header_value, bool):
            header_value = "True" if header_value else "False"
        headers.append((clean_header(name), clean_header(header_value)))
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
    return Response(status, headers, bytes(body), run_ms)


def _is_response(value):
    return (
        not isinstance(value, (dict, list, str, bytes))  # first: what run() returns most often
        and hasattr(value, "status_code")
        and hasattr(value, "headers")
        and hasattr(value, "get_data")
    )


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
    return Response(200, [("Content-Type", CT_HTML)], b"Healthy")


def _default_options(req):
    return Response(200, [("Content-Type", CT_HTML), ("Allow", "GET, HEAD, OPTIONS")], b"")


class Routes(object):
    """What answers a parsed request (azmlinfsrv's Flask app and blueprint)."""

    def __init__(self, cfg, script, swagger, executor, server_addr):
        self.cfg = cfg
        self.script = script
        self.swagger = swagger
        self.executor = executor
        self.server_addr = server_addr
        self._werkzeug_request = None
        if script.mode == MODE_RAW and script.real_raw:
            try:
                from werkzeug.wrappers import Request as WerkzeugRequest

                self._werkzeug_request = WerkzeugRequest
            except Exception:
                self._werkzeug_request = None

    # -- routing ---------------------------------------------------------------------------------
    def dispatch(self, req):
        """The Response to one request (with the x-request-id it carries, for the access line)."""
        path = req.path
        method = req.method
        try:
            if path == "/score":
                if method in SCORE_METHODS:
                    return self._blueprint(req, self._handle_score, True)
                answer = json_error(405, MSG_METHOD_NOT_ALLOWED)
                answer.headers.append(("x-ms-run-fn-exec-ms", "0.000"))
                return answer
            if path == "/":
                if method == "GET" or method == "HEAD":
                    return self._blueprint(req, _health, False)
                if method == "OPTIONS":
                    return self._blueprint(req, _default_options, False)
                return json_error(405, MSG_METHOD_NOT_ALLOWED)
            if path == "/swagger.json":
                if method == "GET" or method == "HEAD":
                    return self._blueprint(req, self._handle_swagger, False)
                if method == "OPTIONS":
                    return self._blueprint(req, _default_options, False)
                return json_error(405, MSG_METHOD_NOT_ALLOWED)
            return json_error(404, MSG_NOT_FOUND)
        except Exception:
            write_err("oep-server: unexpected error:\n" + traceback.format_exc())
            return json_error(500, MSG_INTERNAL)

    def _blueprint(self, req, handler, is_score, warn=True):
        """What azmlinfsrv's blueprint hooks do around a route: request ids (or 431), then the
        response headers x-ms-server-version, x-request-id, x-ms-request-id, x-ms-client-request-id, TraceId."""
        hmap = req.hmap
        ids, error = _request_ids(hmap)
        if warn and ids[0] and hmap.get("x-ms-request-id"):
            write_err("oep-server: warning: " + MSG_REQUEST_ID_DEPRECATED)
        if error is not None:
            answer = json_error(431, error)
        else:
            try:
                answer = handler(req)
            except Exception:
                write_err("oep-server: unexpected error:\n" + traceback.format_exc())
                answer = json_error(500, MSG_INTERNAL)
        headers = answer.headers
        if is_score:
            # A script's own x-request-id & co. were left out by response_of(); the server's own
            # answers (json_ok, json_error) have none.
            headers.append(("x-ms-run-fn-exec-ms", "%.3f" % (answer.run_ms or 0.0)))
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
        answer.request_id = request_id
        return answer

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
                if (
                    content_type
                    and content_type != CT_JSON
                    and content_type.split(";", 1)[0].strip().lower() in FORM_MIMETYPES
                ):
                    # werkzeug parses form bodies into request.form: request.data (what azmlinfsrv passes) is empty
                    kwargs = {script.param: ""}
                else:
                    try:
                        kwargs = {script.param: req.body.decode("utf-8")}
                    except UnicodeDecodeError as ex:
                        return json_error(400, "Input cannot be decoded as UTF-8: %s" % (ex,))
            else:
                if not _is_json_mimetype(req.hmap.get("content-type")):
                    return json_error(415, "Expects Content-Type to be application/json")
                body = req.body
                try:
                    parsed = json.loads(body)
                except json.JSONDecodeError as ex:
                    if body:
                        return json_error(400, "POST body could not be decoded as JSON: %s" % (ex,))
                    return json_error(400, "POST body is empty. Expecting a JSON dictionary.")
                if not isinstance(parsed, dict):
                    return json_error(400, "POST body should be a JSON dictionary.")
                kwargs, error = self._extract_parameters(parsed)
                if error is not None:
                    return json_error(400, error)
        elif method == "GET":
            parsed = _parse_get_parameters(req.query)
            if mode == MODE_JSON:
                kwargs = {script.param: json.dumps(parsed)}
            else:
                kwargs, error = self._extract_parameters(parsed)
                if error is not None:
                    return json_error(400, error)
        elif method == "OPTIONS":
            return Response(200, [("Content-Type", CT_HTML), ("x-ms-run-function-failed", "False")], b"")
        else:
            # HEAD is only routed to run() with @rawhttp
            return json_error(405, "Method not allowed")

        if script.has_request_headers:
            kwargs["request_headers"] = dict(wsgi_style_headers(req.headers))

        job = self.executor.submit(oep_monitoring.bind(script.run_fn, req.hmap), kwargs)
        exec_ms = job.elapsed_ms
        outcome = job.outcome
        if outcome == OUTCOME_OK:
            value = job.value
            job.value = None
            if _is_response(value):
                write_out("oep-server: run() output is HTTP Response")
                try:
                    return response_of(value, exec_ms)
                except Exception:
                    write_err("oep-server: could not read the response run() returned:\n" + traceback.format_exc())
                    return json_error(500, MSG_INTERNAL, run_ms=exec_ms)
            try:
                # AMLResponse(None, ...) answers {} (azmlinfsrv wraps every return value in one)
                body = b"{}" if value is None else dumps(value).encode("utf-8")
            except Exception:
                write_err("oep-server: run() returned a value that is not JSON serialisable:\n" + traceback.format_exc())
                return json_error(500, MSG_INTERNAL, run_ms=exec_ms)
            return json_ok(body, exec_ms)
        if outcome == OUTCOME_TIMEOUT:
            return self._timeout_answer(exec_ms, job.tb)
        write_err("oep-server: run() raised an exception:\n" + (job.tb or ""))
        return json_error(500, MSG_RUN_FAILED, True, run_ms=exec_ms)

    def _timeout_answer(self, exec_ms, tb):
        write_err(
            "oep-server: run() timed out after %d ms (SCORING_TIMEOUT_MS)%s"
            % (self.executor.timeout_ms, (":\n" + tb) if tb else "")
        )
        return json_error(500, "Scoring timeout after %d ms" % self.executor.timeout_ms, True, run_ms=exec_ms)

    def timed_out(self, req, exec_ms):
        """The answer to a /score request whose run() is stuck past the timeout, made by the worker's
        standby thread while the main thread is still in run(): what dispatch() would have answered
        for a call that timed out (its deprecation warning, if any, was already written)."""
        return self._blueprint(req, lambda _req: self._timeout_answer(exec_ms, None), True, False)

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
