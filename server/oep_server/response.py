"""What a route answers: one small object the routes build and the worker sends (protocol.py writes it)."""

import json
from json import encoder as _json_encoder

from .protocol import CT_JSON


def _make_dumps():
    """json.dumps with its default settings (what azmlinfsrv answers with), without the set-up it
    repeats on every call (about half the cost of a small answer's): the C encoder json.dumps uses,
    made per call (a fresh circular-reference check, as json.dumps) with the same settings. Where
    json has no C encoder, or this one's text differs from json.dumps's for a sample, json.dumps."""
    make = getattr(_json_encoder, "c_make_encoder", None)
    if make is None:
        return json.dumps
    std = json.JSONEncoder()
    quote = _json_encoder.encode_basestring_ascii
    args = (std.default, quote, None, std.key_separator, std.item_separator, False, False, True)

    def dumps(value):
        return "".join(make({}, *args)(value, 0))

    sample = {"a": [1, 2.5, -0.0, 1e300, float("inf"), float("nan"), None, True], "é\n\"": "✓ \u2028", "": {}}
    try:
        if dumps(sample) == json.dumps(sample) and dumps("x") == json.dumps("x"):
            return dumps
    except Exception:
        pass
    return json.dumps


dumps = _make_dumps()


class Response(object):
    """One route's answer.

    ``headers`` is a list of (name, value) pairs rather than a dict: the hooks around a route
    append to it, and a script's response may repeat a header. ``run_ms`` is how long run() took
    (only /score sets it: its x-ms-run-fn-exec-ms header); ``request_id`` is the x-request-id the
    answer carries, for the access line.
    """

    __slots__ = ("status", "headers", "body", "run_ms", "request_id")

    def __init__(self, status, headers, body, run_ms=None):
        self.status = status
        self.headers = headers
        self.body = body
        self.run_ms = run_ms
        self.request_id = None

    def __repr__(self):
        return "Response(%d, %r, %d bytes)" % (self.status, self.headers, len(self.body))


def json_error(status, message, run_function_failed=False, run_ms=None):
    """azmlinfsrv's ErrorResponse: AMLResponse({"message": ...}, status, json_str=True)."""
    body = json.dumps({"message": message}).encode("utf-8")
    failed = "True" if run_function_failed else "False"
    return Response(status, [("Content-Type", CT_JSON), ("x-ms-run-function-failed", failed)], body, run_ms)


def json_ok(body, run_ms=None):
    """A 200 with a JSON body already encoded, as azmlinfsrv answers a run() that returned normally."""
    return Response(200, [("Content-Type", CT_JSON), ("x-ms-run-function-failed", "False")], body, run_ms)
