"""AMLResponse: azmlinfsrv's response class, changeable after it is made as werkzeug's ``Response`` is."""

import json
from http import HTTPStatus

from .headers import Headers, is_json_mimetype, parse_options_header


def _reason(code):
    try:
        return HTTPStatus(code).phrase.upper()
    except ValueError:
        return "UNKNOWN"


class AMLResponse(object):
    """``AMLResponse(message, status_code, response_headers={}, json_str=False)`` as in azmlinfsrv.

    - ``message`` None -> ``{}`` as application/json.
    - ``json_str=True`` -> ``json.dumps(message)`` as application/json.
    - otherwise ``message`` (str or bytes) is the body, ``text/html; charset=utf-8`` unless a
      ``Content-Type`` is given in ``response_headers``.
    - A header value with commas becomes repeated headers (``{"X": "a, b"}`` -> ``X: a``, ``X: b``).
    - ``x-ms-run-function-failed`` is always set (``False`` unless ``run_function_failed``).

    azmlinfsrv's AMLResponse is a Flask ``Response``, and scripts change it after construction as
    Microsoft's binary-payloads sample does (``resp.mimetype = "image/jpg"``): ``mimetype``,
    ``content_type``, ``status``, ``status_code``, ``headers`` (``resp.headers["X"] = v``, ``add``,
    ``set``) and the body (``set_data``, ``data``) can be set as on werkzeug's ``Response``.
    """

    def __init__(self, message, status_code, response_headers=None, json_str=False, run_function_failed=False):
        if response_headers is None:
            response_headers = {}
        self.status_code = status_code
        self.headers = Headers()
        if message is not None:
            if json_str:
                self._data = json.dumps(message).encode("utf-8")
                self.headers.add("Content-Type", "application/json")
            else:
                self._data = _to_bytes(message)
                if not any(str(key).lower() == "content-type" for key in response_headers):
                    self.headers.add("Content-Type", "text/html; charset=utf-8")
        else:
            self._data = b"{}"
            self.headers.add("Content-Type", "application/json")

        self.headers["x-ms-run-function-failed"] = run_function_failed

        # A comma separates the values of a repeated header (RFC 2616 section 4.2).
        for header, value in response_headers.items():
            for item in value.split(","):
                self.headers.add(header, item.strip())

    # -- what werkzeug's Response lets a script change after construction ----------------------
    @property
    def headers(self):
        return self._headers

    @headers.setter
    def headers(self, value):
        # werkzeug keeps whatever is assigned; a dict or a list of pairs is taken as headers here so
        # that the answer still carries them.
        self._headers = value if isinstance(value, Headers) else Headers(value)

    @property
    def status_code(self):
        return self._status_code

    @status_code.setter
    def status_code(self, value):
        self._status_code = int(value)

    @property
    def status(self):
        return "%d %s" % (self._status_code, _reason(self._status_code))

    @status.setter
    def status(self, value):
        # werkzeug takes 201, "201" or "201 CREATED"
        self._status_code = int(str(value).strip().split(" ", 1)[0])

    def get_data(self, as_text=False):
        return self._data.decode("utf-8", "replace") if as_text else self._data

    def set_data(self, value):
        self._data = _to_bytes(value)

    @property
    def data(self):
        return self.get_data()

    @data.setter
    def data(self, value):
        self.set_data(value)

    @property
    def response(self):
        return [self._data]

    @response.setter
    def response(self, value):
        self.set_data(value)

    @property
    def content_type(self):
        return self.headers.get("Content-Type")

    @content_type.setter
    def content_type(self, value):
        if value is None:
            self.headers.remove("Content-Type")
        else:
            self.headers["Content-Type"] = value

    @property
    def mimetype(self):
        return parse_options_header(self.content_type or "")[0] or None

    @mimetype.setter
    def mimetype(self, value):
        # werkzeug's get_content_type(): text types get "; charset=utf-8", others are set as given
        self.headers["Content-Type"] = content_type_for(value)

    @property
    def mimetype_params(self):
        return parse_options_header(self.content_type or "")[1]

    @property
    def charset(self):
        return self.mimetype_params.get("charset", "utf-8")

    @property
    def content_length(self):
        return len(self._data)

    @property
    def is_json(self):
        return is_json_mimetype(self.mimetype or "")

    def get_json(self, force=False, silent=False):
        if not (force or self.is_json):
            return None
        try:
            return json.loads(self._data)
        except ValueError:
            if silent:
                return None
            raise

    @property
    def json(self):
        return self.get_json()

    def __repr__(self):
        return "<%s %d bytes [%s]>" % (type(self).__name__, len(self._data), self.status)


# Types werkzeug gives a charset although they are not text/* (werkzeug.utils._charset_mimetypes).
_CHARSET_MIMETYPES = frozenset(
    (
        "application/ecmascript",
        "application/javascript",
        "application/sql",
        "application/xml",
        "application/xml-dtd",
        "application/xml-external-parsed-entity",
    )
)


def content_type_for(mimetype, charset="utf-8"):
    """The Content-Type werkzeug writes for a mimetype: ``text/csv`` -> ``text/csv; charset=utf-8``, ``image/png`` as is."""
    if mimetype.startswith("text/") or mimetype in _CHARSET_MIMETYPES or mimetype.endswith("+xml"):
        return "%s; charset=%s" % (mimetype, charset)
    return mimetype


def _to_bytes(value):
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    # werkzeug would iterate other objects; joining their str/bytes items is the closest match
    out = []
    for item in value:
        out.append(item if isinstance(item, bytes) else str(item).encode("utf-8"))
    return b"".join(out)
