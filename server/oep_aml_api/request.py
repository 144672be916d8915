"""AMLRequest: the request a ``@rawhttp`` run() receives, the parts of ``flask.Request`` scoring scripts use."""

import io
import json
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, quote

from .errors import BadRequest, UnsupportedMediaType
from .headers import ContentTypeFromHeaders, Headers, is_json_mimetype, parse_options_header
from .multidict import MultiDict
from .multipart import parse_multipart
from .wsgi import build_environ, wsgi_style_headers


class _UserAgent(str):
    @property
    def string(self):
        return str(self)


_FORM_MIMETYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class AMLRequest(ContentTypeFromHeaders):
    """The request a ``@rawhttp`` run() receives: the parts of ``flask.Request`` scoring scripts use."""

    charset = "utf-8"
    url_charset = "utf-8"
    scheme = "http"
    is_secure = False
    script_root = ""
    root_path = ""
    blueprint = "main"
    endpoint = "main.handle_score"
    view_args = {}

    def __init__(self, method, path, query_string, headers, body, remote_addr=None, server=None):
        """``headers`` is the list of ``(name, value)`` pairs as received; ``body`` the raw bytes."""
        self.method = method
        self.path = path
        self.query_string = query_string if isinstance(query_string, bytes) else query_string.encode("latin-1")
        self._raw_headers = headers
        self._body = body
        self.remote_addr = remote_addr
        self._server = server or ("127.0.0.1", 5001)
        self._cache = {}

    # -- headers, URL ---------------------------------------------------------
    @property
    def headers(self):
        value = self._cache.get("headers")
        if value is None:
            value = self._cache["headers"] = Headers(wsgi_style_headers(self._raw_headers))
        return value

    @property
    def args(self):
        value = self._cache.get("args")
        if value is None:
            value = self._cache["args"] = MultiDict(
                parse_qsl(self.query_string.decode("latin-1"), keep_blank_values=True, encoding="utf-8", errors="replace")
            )
        return value

    @property
    def host(self):
        host = self.headers.get("Host")
        if host:
            return host
        name, port = self._server[0], self._server[1]
        return "%s:%s" % (name, port)

    @property
    def full_path(self):
        return self.path + "?" + self.query_string.decode("latin-1")

    @property
    def host_url(self):
        return "%s://%s/" % (self.scheme, self.host)

    @property
    def url_root(self):
        return self.host_url

    @property
    def base_url(self):
        return "%s://%s%s" % (self.scheme, self.host, quote(self.path, safe="/:@!$&'()*+,;=~"))

    @property
    def url(self):
        qs = self.query_string.decode("latin-1")
        return self.base_url + ("?" + qs if qs else "")

    @property
    def access_route(self):
        forwarded = self.headers.get("X-Forwarded-For")
        if forwarded:
            return [addr.strip() for addr in forwarded.split(",")]
        return [self.remote_addr] if self.remote_addr else []

    @property
    def user_agent(self):
        return _UserAgent(self.headers.get("User-Agent", ""))

    @property
    def referrer(self):
        return self.headers.get("Referer")

    @property
    def cookies(self):
        value = self._cache.get("cookies")
        if value is None:
            jar = SimpleCookie()
            try:
                jar.load(self.headers.get("Cookie", ""))
            except Exception:
                pass
            value = self._cache["cookies"] = MultiDict((key, morsel.value) for key, morsel in jar.items())
        return value

    @property
    def environ(self):
        value = self._cache.get("environ")
        if value is None:
            value = self._cache["environ"] = build_environ(
                self.method, self.path, self.query_string, self._raw_headers, self._body, self.remote_addr, self._server
            )
        return value

    # -- content type -----------------------------------------------------------
    @property
    def content_length(self):
        value = self.headers.get("Content-Length")
        if value is None:
            return len(self._body) if self._body else None
        try:
            return max(0, int(value))
        except ValueError:
            return None

    @property
    def content_encoding(self):
        return self.headers.get("Content-Encoding")

    @property
    def is_json(self):
        return is_json_mimetype(self.mimetype)

    # -- body -------------------------------------------------------------------
    def _is_form(self):
        return self.mimetype in _FORM_MIMETYPES

    def _load_form(self):
        if "form" in self._cache:
            return
        form, files = MultiDict(), MultiDict()
        mt, params = parse_options_header(self.content_type or "")
        charset = params.get("charset", "utf-8")
        if mt == "application/x-www-form-urlencoded":
            form = MultiDict(
                parse_qsl(self._body.decode("latin-1"), keep_blank_values=True, encoding=charset, errors="replace")
            )
        elif mt == "multipart/form-data":
            form, files = parse_multipart(self._body, params.get("boundary"), charset)
        self._cache["form"] = form
        self._cache["files"] = files

    @property
    def form(self):
        self._load_form()
        return self._cache["form"]

    @property
    def files(self):
        self._load_form()
        return self._cache["files"]

    @property
    def values(self):
        merged = MultiDict(self.args.items(multi=True))
        if self.method != "GET":
            for key, value in self.form.items(multi=True):
                merged.add(key, value)
        return merged

    def get_data(self, cache=True, as_text=False, parse_form_data=False):
        if parse_form_data and self._is_form():
            # werkzeug consumes form bodies while parsing them: request.data is then empty
            self._load_form()
            data = b""
        else:
            data = self._body
        if as_text:
            return data.decode(self.mimetype_params.get("charset", "utf-8"), "replace")
        return data

    @property
    def data(self):
        return self.get_data(parse_form_data=True)

    @property
    def stream(self):
        value = self._cache.get("stream")
        if value is None:
            value = self._cache["stream"] = io.BytesIO(b"" if self._is_form() else self._body)
        return value

    @property
    def input_stream(self):
        return io.BytesIO(self._body)

    def get_json(self, force=False, silent=False, cache=True):
        if "json" in self._cache:
            return self._cache["json"]
        if not (force or self.is_json):
            if silent:
                return None
            raise UnsupportedMediaType(
                "Did not attempt to load JSON data because the request Content-Type was not 'application/json'."
            )
        try:
            value = json.loads(self._body)
        except ValueError as ex:
            if silent:
                return None
            raise BadRequest("Failed to decode JSON object: %s" % (ex,)) from None
        if cache:
            self._cache["json"] = value
        return value

    @property
    def json(self):
        return self.get_json()

    def __repr__(self):
        return "<%s %r [%s]>" % (type(self).__name__, self.url, self.method)
