"""MultiDict (werkzeug's): the type of a request's args, form and files, and what Headers builds on."""

from .errors import BadRequestKeyError


def convert(value, type, default):
    """``type(value)`` when a type is given, ``default`` when that conversion fails (werkzeug's ``get``)."""
    if type is None:
        return value
    try:
        return type(value)
    except (ValueError, TypeError):
        return default


def convert_each(values, type):
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


def pairs_of(args, kwargs):
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
        return convert(value, type, default)

    def getlist(self, key, type=None):
        return convert_each(list(self._d.get(key, ())), type)

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
