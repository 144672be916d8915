"""Header values as werkzeug reads and writes them: Headers (a case-insensitive multi-map), options
headers (``type; key=value``), and the content type properties requests and uploads share."""

import re

from .errors import BadRequestKeyError
from .multidict import convert, convert_each, pairs_of


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
        return convert(value, type, default)

    def getlist(self, key, type=None):
        lower = key.lower()
        return convert_each([value for name, value in self._items if name.lower() == lower], type)

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
        for key, value in pairs_of(args, kwargs):
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
        for key, value in pairs_of(args, kwargs):
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


def is_json_mimetype(mt):
    return mt == "application/json" or (mt.startswith("application/") and mt.endswith("+json"))


def _header_value(value):
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value)


class ContentTypeFromHeaders(object):
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
