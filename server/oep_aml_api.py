"""Flask-free stand-ins for azmlinfsrv's raw-HTTP API (``AMLRequest``, ``AMLResponse``, ``rawhttp``).

oep-server uses these when the real ``azureml_inference_server_http`` / ``azureml.contrib.services``
packages are not importable. The shim modules under ``server/oep_shims/`` re-export them under the
names scoring scripts import. ``AMLRequest`` mirrors the parts of ``flask.Request`` that scoring
scripts use (method, path, args, headers, get_data, get_json, form, files, ...); ``AMLResponse``
mirrors azmlinfsrv's ``AMLResponse(message, status_code, response_headers, json_str)``.

Standard library only; Python 3.8+.
"""

import io
import json
import re
import shutil
from http import HTTPStatus
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, quote

__all__ = [
    "AMLRequest",
    "AMLResponse",
    "BadRequest",
    "BadRequestKeyError",
    "FileStorage",
    "Headers",
    "MultiDict",
    "UnsupportedMediaType",
    "content_type_for",
    "parse_options_header",
    "shim_rawhttp",
    "title_header_name",
]


class BadRequest(Exception):
    """Raised like werkzeug's BadRequest (an exception in run() becomes a 500, as in azmlinfsrv)."""

    code = 400
    description = "The browser (or proxy) sent a request that this server could not understand."

    def __init__(self, description=None):
        if description is not None:
            self.description = description
        super().__init__(self.description)


class BadRequestKeyError(BadRequest, KeyError):
    def __init__(self, key):
        self.key = key
        BadRequest.__init__(self, "Missing key: %r" % (key,))

    def __str__(self):
        return BadRequest.__str__(self)


class UnsupportedMediaType(BadRequest):
    code = 415
    description = "The server does not support the media type transmitted in the request."


_PARAM_RE = re.compile(r';\s*([^\s=;]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^;]*))?')


def parse_options_header(value):
    """``'text/plain; charset="utf-8"'`` -> ``('text/plain', {'charset': 'utf-8'})``."""
    if not value:
        return "", {}
    main, sep, rest = value.partition(";")
    params = {}
    if sep:
        for match in _PARAM_RE.finditer(";" + rest):
            key = match.group(1).lower()
            raw = match.group(2)
            if raw is None:
                raw = ""
            raw = raw.strip()
            if len(raw) >= 2 and raw[0] == raw[-1] == '"':
                raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
            if key.endswith("*"):
                # RFC 2231/5987 extended value: charset'lang'percent-encoded
                key = key[:-1]
                parts = raw.split("'", 2)
                if len(parts) == 3:
                    from urllib.parse import unquote

                    raw = unquote(parts[2], encoding=parts[0] or "utf-8", errors="replace")
            params[key] = raw
    return main.strip().lower(), params


def title_header_name(name):
    """Header names as a WSGI server hands them to werkzeug: ``x-ms-request-id`` -> ``X-Ms-Request-Id``."""
    return name.replace("_", "-").title()


def _typed(value, type, default):
    """``type(value)`` when a type is given, ``default`` when that conversion fails (werkzeug's ``get``)."""
    if type is None:
        return value
    try:
        return type(value)
    except (ValueError, TypeError):
        return default


def _typed_list(values, type):
    """``type(value)`` of each value, leaving out those that do not convert (werkzeug's ``getlist``)."""
    if type is None:
        return values
    out = []
    for value in values:
        try:
            out.append(type(value))
        except (ValueError, TypeError):
            pass
    return out


def _pairs(args, kwargs):
    """The ``(key, value)`` pairs of ``extend``/``update`` arguments: mappings, pair iterables, then keywords."""
    for arg in args:
        items = arg.items() if hasattr(arg, "items") else arg
        for key, value in items:
            yield key, value
    for key, value in kwargs.items():
        yield key, value


class MultiDict(object):
    """The subset of werkzeug's MultiDict that scoring scripts use (``request.args``, ``.form``, ``.files``)."""

    __slots__ = ("_d",)

    def __init__(self, pairs=()):
        d = {}
        if isinstance(pairs, dict):
            pairs = pairs.items()
        for key, value in pairs:
            d.setdefault(key, []).append(value)
        self._d = d

    def __getitem__(self, key):
        try:
            return self._d[key][0]
        except KeyError:
            raise BadRequestKeyError(key) from None

    def get(self, key, default=None, type=None):
        try:
            value = self._d[key][0]
        except KeyError:
            return default
        return _typed(value, type, default)

    def getlist(self, key, type=None):
        return _typed_list(list(self._d.get(key, ())), type)

    def add(self, key, value):
        self._d.setdefault(key, []).append(value)

    def __setitem__(self, key, value):
        self._d[key] = [value]

    def __contains__(self, key):
        return key in self._d

    def __iter__(self):
        return iter(self._d)

    def __len__(self):
        return len(self._d)

    def __bool__(self):
        return bool(self._d)

    def keys(self):
        return self._d.keys()

    def values(self):
        return [values[0] for values in self._d.values()]

    def items(self, multi=False):
        if multi:
            return [(key, value) for key, values in self._d.items() for value in values]
        return [(key, values[0]) for key, values in self._d.items()]

    def lists(self):
        return [(key, list(values)) for key, values in self._d.items()]

    def to_dict(self, flat=True):
        if flat:
            return {key: values[0] for key, values in self._d.items()}
        return {key: list(values) for key, values in self._d.items()}

    def copy(self):
        return MultiDict(self.items(multi=True))

    def __eq__(self, other):
        if isinstance(other, MultiDict):
            return self._d == other._d
        if isinstance(other, dict):
            return self.to_dict() == other
        return NotImplemented

    def __repr__(self):
        return "%s(%r)" % (type(self).__name__, self.items(multi=True))


class Headers(object):
    """An ordered, case-insensitive multi-map of headers, like werkzeug's ``Headers``.

    Iterating yields ``(name, value)`` tuples (as werkzeug does), so ``dict(headers)`` and
    ``list(headers)`` behave as they do in Flask.
    """

    __slots__ = ("_items",)

    def __init__(self, items=()):
        if isinstance(items, dict):
            items = items.items()
        self._items = [(str(k), _header_value(v)) for k, v in items]

    def _find(self, key):
        lower = key.lower()
        for name, value in self._items:
            if name.lower() == lower:
                return value
        raise KeyError(key)

    def __getitem__(self, key):
        if isinstance(key, int):
            return self._items[key]
        try:
            return self._find(key)
        except KeyError:
            raise BadRequestKeyError(key) from None

    def get(self, key, default=None, type=None):
        try:
            value = self._find(key)
        except KeyError:
            return default
        return _typed(value, type, default)

    def getlist(self, key, type=None):
        lower = key.lower()
        return _typed_list([value for name, value in self._items if name.lower() == lower], type)

    get_all = getlist

    def __contains__(self, key):
        if not isinstance(key, str):
            return False
        lower = key.lower()
        return any(name.lower() == lower for name, _ in self._items)

    has_key = __contains__

    def __iter__(self):
        return iter(list(self._items))

    def __len__(self):
        return len(self._items)

    def __bool__(self):
        return bool(self._items)

    def keys(self, lower=False):
        if lower:
            return [name.lower() for name, _ in self._items]
        return [name for name, _ in self._items]

    def values(self):
        return [value for _, value in self._items]

    def items(self, lower=False):
        if lower:
            return [(name.lower(), value) for name, value in self._items]
        return list(self._items)

    def to_wsgi_list(self):
        return list(self._items)

    def copy(self):
        return Headers(self._items)

    # -- mutation (response headers) --
    def add(self, key, value, **params):
        """Adds a header; keyword arguments become its parameters (``filename="a.png"``), as in werkzeug."""
        self._items.append((str(key), _with_params(_header_value(value), params)))

    add_header = add

    def extend(self, *args, **kwargs):
        for key, value in _pairs(args, kwargs):
            self.add(key, value)

    def remove(self, key):
        lower = key.lower()
        self._items = [(name, value) for name, value in self._items if name.lower() != lower]

    __delitem__ = remove

    def pop(self, key, default=KeyError):
        try:
            value = self._find(key)
        except KeyError:
            if default is KeyError:
                raise
            return default
        self.remove(key)
        return value

    def set(self, key, value, **params):
        value = _with_params(_header_value(value), params)
        lower = key.lower()
        out = []
        placed = False
        for name, old in self._items:
            if name.lower() == lower:
                if not placed:
                    out.append((str(key), value))
                    placed = True
            else:
                out.append((name, old))
        if not placed:
            out.append((str(key), value))
        self._items = out

    __setitem__ = set

    def setdefault(self, key, default):
        try:
            return self._find(key)
        except KeyError:
            self.add(key, default)
            return _header_value(default)

    def update(self, *args, **kwargs):
        for key, value in _pairs(args, kwargs):
            self.set(key, value)

    def clear(self):
        self._items = []

    def __eq__(self, other):
        if isinstance(other, Headers):
            return self._items == other._items
        return NotImplemented

    def __str__(self):
        return "".join("%s: %s\r\n" % item for item in self._items) + "\r\n"

    def __repr__(self):
        return "%s(%r)" % (type(self).__name__, self._items)


# werkzeug leaves a parameter value unquoted when it is made of these characters only (RFC 9110 token).
_TOKEN_CHARS = frozenset("!#$%&'*+-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ^_`abcdefghijklmnopqrstuvwxyz|~")


def _quote_param(value):
    value = str(value)
    if value and _TOKEN_CHARS.issuperset(value):
        return value
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')


def _with_params(value, params):
    """``value; key=param; ...`` as werkzeug's ``dump_options_header`` writes it (``_`` in keys becomes ``-``)."""
    for key, param in params.items():
        key = key.replace("_", "-")
        if param is None:
            value += "; " + key
        else:
            value += "; %s=%s" % (key, _quote_param(param))
    return value


def _is_json_mimetype(mt):
    return mt == "application/json" or (mt.startswith("application/") and mt.endswith("+json"))


def _header_value(value):
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value)


class _ContentTypeFromHeaders(object):
    """content_type, mimetype and mimetype_params read from self.headers, as werkzeug has them."""

    @property
    def content_type(self):
        return self.headers.get("Content-Type")

    @property
    def mimetype(self):
        return parse_options_header(self.content_type or "")[0]

    @property
    def mimetype_params(self):
        return parse_options_header(self.content_type or "")[1]


class FileStorage(_ContentTypeFromHeaders):
    """An uploaded file from a multipart/form-data body (werkzeug's ``FileStorage``)."""

    def __init__(self, stream=None, filename=None, name=None, content_type=None, headers=None):
        self.stream = stream if stream is not None else io.BytesIO()
        self.filename = filename
        self.name = name
        self.headers = headers if headers is not None else Headers()
        if content_type is not None and "Content-Type" not in self.headers:
            self.headers.add("Content-Type", content_type)

    @property
    def content_length(self):
        try:
            return int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return 0

    def save(self, dst, buffer_size=16384):
        if isinstance(dst, (str, bytes)) or hasattr(dst, "__fspath__"):
            with open(dst, "wb") as out:
                shutil.copyfileobj(self.stream, out, buffer_size)
        else:
            shutil.copyfileobj(self.stream, dst, buffer_size)

    def close(self):
        try:
            self.stream.close()
        except Exception:
            pass

    def __getattr__(self, name):
        # read(), readline(), seek(), tell() ... go to the stream, as in werkzeug
        return getattr(self.stream, name)

    def __iter__(self):
        return iter(self.stream)

    def __bool__(self):
        return bool(self.filename)

    def __repr__(self):
        return "<%s: %r (%r)>" % (type(self).__name__, self.filename, self.content_type)


def _parse_multipart(body, boundary, charset):
    form = MultiDict()
    files = MultiDict()
    if not boundary:
        return form, files
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    chunks = (b"\r\n" + body).split(delimiter)
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        eol = chunk.find(b"\r\n")
        if eol < 0:
            continue
        chunk = chunk[eol + 2:]
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            if chunk.startswith(b"\r\n"):
                head, content = b"", chunk[2:]
            else:
                continue
        part_headers = Headers()
        for line in head.decode("utf-8", "replace").split("\r\n"):
            if ":" in line:
                key, _, value = line.partition(":")
                part_headers.add(key.strip(), value.strip())
        _, disposition = parse_options_header(part_headers.get("Content-Disposition", ""))
        name = disposition.get("name")
        if name is None:
            continue
        filename = disposition.get("filename")
        if filename is not None:
            files.add(
                name,
                FileStorage(io.BytesIO(content), filename, name, part_headers.get("Content-Type"), part_headers),
            )
        else:
            part_charset = parse_options_header(part_headers.get("Content-Type", ""))[1].get("charset", charset)
            form.add(name, content.decode(part_charset or "utf-8", "replace"))
    return form, files


class _UserAgent(str):
    @property
    def string(self):
        return str(self)


_FORM_MIMETYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class AMLRequest(_ContentTypeFromHeaders):
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
        return _is_json_mimetype(self.mimetype)

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
            form, files = _parse_multipart(self._body, params.get("boundary"), charset)
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


def wsgi_style_headers(raw_headers):
    """Request headers as werkzeug sees them behind gunicorn: title-cased, repeats joined with ','."""
    merged = {}
    for name, value in raw_headers:
        key = title_header_name(name)
        if key in merged:
            merged[key] = merged[key] + "," + value
        else:
            merged[key] = value
    return list(merged.items())


def build_environ(method, path, query_string, raw_headers, body, remote_addr, server):
    """A WSGI environ for the request (also what a real werkzeug Request is built from)."""
    if isinstance(query_string, bytes):
        query_string = query_string.decode("latin-1")
    environ = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path.encode("utf-8", "surrogateescape").decode("latin-1"),
        "QUERY_STRING": query_string,
        "SERVER_NAME": str(server[0]) if server else "127.0.0.1",
        "SERVER_PORT": str(server[1]) if server else "5001",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": remote_addr or "",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": __import__("sys").stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in raw_headers:
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value
            continue
        key = "HTTP_" + key
        if key in environ:
            environ[key] = environ[key] + "," + value
        else:
            environ[key] = value
    if "CONTENT_LENGTH" not in environ and body:
        environ["CONTENT_LENGTH"] = str(len(body))
    return environ


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
        return _is_json_mimetype(self.mimetype or "")

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


def shim_rawhttp(module_globals):
    """The ``rawhttp`` decorator of a shim ``aml_request`` module, given that module's ``globals()``.

    It sets the module's ``_rawHttpRequested``, which oep-server reads after importing the scoring
    script, as azmlinfsrv does.
    """

    def rawhttp(func):
        """Decorate run() to receive the raw request (an ``AMLRequest``) instead of the body as a string."""
        module_globals["_rawHttpRequested"] = True
        return func

    rawhttp.__module__ = module_globals["__name__"]
    return rawhttp
