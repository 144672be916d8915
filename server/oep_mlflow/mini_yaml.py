"""A reader for the YAML subset MLflow writes in MLmodel files, for environments without pyyaml.

MLflow writes MLmodel with `yaml.safe_dump(..., default_flow_style=False)`: block mappings and
sequences (sequence items may sit at their key's indentation), plain, single- and double-quoted
scalars that may be folded over several lines (the signature's JSON strings usually are), and the
flow forms `{}`, `[]` and short `[a, b]` / `{a: b}`. Anchors, tags, block scalars (`|`, `>`) and
multiple documents are not part of it and raise YamlError.
"""

import re


class YamlError(ValueError):
    pass


_INT = re.compile(r"^[-+]?(0|[1-9][0-9_]*)$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$")


def loads(text):
    lines = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.strip() in ("---", "..."):
            if lines:
                raise YamlError("line %d: only one YAML document is supported" % number)
            continue
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise YamlError("line %d: tabs are not allowed for indentation" % number)
        lines.append((number, raw.rstrip()))
    reader = _Reader(lines)
    reader.skip_blank()
    if reader.done():
        return None
    value = reader.block(reader.indent())
    reader.skip_blank()
    if not reader.done():
        raise YamlError("line %d: unexpected indentation" % reader.number())
    return value


class _Reader(object):
    def __init__(self, lines):
        self.lines = lines
        self.pos = 0

    def done(self):
        return self.pos >= len(self.lines)

    def number(self):
        return self.lines[self.pos][0]

    def text(self):
        return self.lines[self.pos][1]

    def indent(self):
        text = self.text()
        return len(text) - len(text.lstrip(" "))

    def skip_blank(self):
        while not self.done():
            stripped = self.text().strip()
            if stripped and not stripped.startswith("#"):
                return
            self.pos += 1

    def block(self, indent):
        if _is_item(self.text().strip()):
            return self.sequence(indent)
        return self.mapping(indent)

    def sequence(self, indent):
        items = []
        while True:
            self.skip_blank()
            if self.done() or self.indent() != indent or not _is_item(self.text().strip()):
                return items
            number = self.number()
            rest = self.text().strip()[1:]
            if not rest.strip():
                self.pos += 1
                self.skip_blank()
                if self.done() or self.indent() <= indent:
                    items.append(None)
                else:
                    items.append(self.block(self.indent()))
                continue
            # "- key: value" starts a mapping whose keys sit where "key" is.
            inner = indent + 1 + (len(rest) - len(rest.lstrip(" ")))
            self.lines[self.pos] = (number, " " * inner + rest.strip())
            if _is_item(rest.strip()):
                items.append(self.sequence(inner))
            elif _split_key(rest.strip()) is not None:
                items.append(self.mapping(inner))
            else:
                items.append(self.scalar_from(rest.strip(), indent))

    def mapping(self, indent):
        result = {}
        while True:
            self.skip_blank()
            if self.done() or self.indent() < indent:
                return result
            if self.indent() > indent:
                raise YamlError("line %d: unexpected indentation" % self.number())
            stripped = self.text().strip()
            if _is_item(stripped):
                return result
            split = _split_key(stripped)
            if split is None:
                raise YamlError("line %d: expected 'key: value'" % self.number())
            key, rest = split
            if rest:
                value = self.scalar_from(rest, indent)
            else:
                self.pos += 1
                self.skip_blank()
                if self.done():
                    value = None
                elif self.indent() > indent:
                    value = self.block(self.indent())
                elif self.indent() == indent and _is_item(self.text().strip()):
                    value = self.sequence(indent)
                else:
                    value = None
            result[key] = value

    def scalar_from(self, first, indent):
        """A scalar that starts with `first` on the current line and may continue on later lines."""
        number = self.number()
        self.pos += 1
        if first.startswith("&") or first.startswith("*") or first.startswith("!"):
            raise YamlError("line %d: anchors, aliases and tags are not supported" % number)
        if first in ("|", ">") or first[:1] in ("|", ">") and first[1:].strip("+-0123456789") == "":
            raise YamlError("line %d: block scalars are not supported" % number)
        if first[0] in ("'", '"'):
            parts = [first]
            while not _quoted_closed(" ".join(parts), first[0]):
                if self.done():
                    raise YamlError("line %d: unterminated quoted scalar" % number)
                parts.append(self.text().strip())
                self.pos += 1
            if first[0] == '"':
                return _quoted(_fold_double(parts), '"', number)
            return _quoted(_fold(parts), "'", number)
        parts = [_strip_comment(first)]
        # A plain scalar continues on more-indented lines that are not "key: value" lines.
        while not self.done():
            stripped = self.text().strip()
            if not stripped or self.indent() <= indent or stripped.startswith("#"):
                break
            parts.append(_strip_comment(stripped))
            self.pos += 1
        text = _fold(parts)
        if text[:1] in ("{", "["):
            return _flow(text, number)
        return _plain(text)


def _is_item(stripped):
    return stripped == "-" or stripped.startswith("- ")


def _split_key(stripped):
    """(key, rest) for a `key: value` line, or None."""
    if stripped[:1] in ("'", '"'):
        quote = stripped[0]
        end = _quote_end(stripped, quote)
        if end is None or not stripped[end + 1 :].startswith(":"):
            return None
        after = stripped[end + 2 :]
        if after and not after.startswith(" "):
            return None
        return _quoted(stripped[: end + 1], quote, 0), after.strip()
    if stripped[:1] in ("{", "["):
        return None
    match = re.search(r":( |$)", stripped)
    if not match:
        return None
    key = stripped[: match.start()].strip()
    return _plain_key(key), _strip_comment(stripped[match.end() :].strip())


def _plain_key(key):
    value = _plain(key)
    return value if isinstance(value, (str, int, float, bool)) or value is None else key


def _quote_end(text, quote):
    i = 1
    while i < len(text):
        char = text[i]
        if quote == '"' and char == "\\":
            i += 2
            continue
        if char == quote:
            if quote == "'" and i + 1 < len(text) and text[i + 1] == "'":
                i += 2
                continue
            return i
        i += 1
    return None


def _quoted_closed(text, quote):
    end = _quote_end(text, quote)
    return end is not None


def _fold(parts):
    # Folding as YAML does: one line break becomes a space, an empty line a newline.
    out = parts[0]
    for part in parts[1:]:
        if part == "":
            out += "\n"
        elif out.endswith("\n"):
            out += part
        else:
            out += " " + part
    return out


def _fold_double(parts):
    # In a double-quoted scalar a backslash at the end of a line escapes the line break: no space.
    out = parts[0]
    for part in parts[1:]:
        trailing = len(out) - len(out.rstrip("\\"))
        if trailing % 2 == 1:
            out = out[:-1] + part
        elif part == "":
            out += "\n"
        elif out.endswith("\n"):
            out += part
        else:
            out += " " + part
    return out


_ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f",
    "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0",
    "L": "\u2028", "P": "\u2029",
}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}


def _quoted(text, quote, number):
    end = _quote_end(text, quote)
    if end is None:
        raise YamlError("line %d: unterminated quoted scalar" % number)
    body = text[1:end]
    if quote == "'":
        return body.replace("''", "'")
    out = []
    i = 0
    while i < len(body):
        char = body[i]
        if char != "\\":
            out.append(char)
            i += 1
            continue
        code = body[i + 1 : i + 2]
        if code in _ESCAPES:
            out.append(_ESCAPES[code])
            i += 2
        elif code in _HEX_ESCAPES:
            digits = body[i + 2 : i + 2 + _HEX_ESCAPES[code]]
            try:
                out.append(chr(int(digits, 16)))
            except ValueError:
                raise YamlError("line %d: bad escape \\%s%s in a double-quoted scalar" % (number, code, digits))
            i += 2 + _HEX_ESCAPES[code]
        else:
            raise YamlError("line %d: unsupported escape \\%s in a double-quoted scalar" % (number, code))
    return "".join(out)


def _strip_comment(text):
    if text.startswith("#"):
        return ""
    match = re.search(r"\s#", text)
    return text[: match.start()].rstrip() if match else text


def _plain(text):
    if text in ("", "~", "null", "Null", "NULL"):
        return None
    if text in ("true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"):
        return True
    if text in ("false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"):
        return False
    if _INT.match(text):
        return int(text.replace("_", ""))
    if _FLOAT.match(text) and any(char.isdigit() for char in text):
        return float(text.replace("_", ""))
    if text in (".inf", "+.inf", ".Inf"):
        return float("inf")
    if text in ("-.inf", "-.Inf"):
        return float("-inf")
    if text in (".nan", ".NaN", ".NAN"):
        return float("nan")
    return text


def _flow(text, number):
    """`{}`, `[]` and one-level flow collections of scalars (`[a, 'b']`, `{k: v}`)."""
    inner = text[1:-1].strip()
    closing = "}" if text[0] == "{" else "]"
    if not text.endswith(closing):
        raise YamlError("line %d: unsupported flow collection %s" % (number, text))
    items = _split_flow(inner, number) if inner else []
    if text[0] == "[":
        return [_flow_scalar(item, number) for item in items]
    result = {}
    for item in items:
        split = _split_key(item)
        if split is None:
            raise YamlError("line %d: unsupported flow mapping entry %s" % (number, item))
        result[split[0]] = _flow_scalar(split[1], number)
    return result


def _split_flow(inner, number):
    items = []
    current = ""
    quote = None
    for char in inner:
        if quote:
            current += char
            if char == quote:
                quote = None
            continue
        if char in ("'", '"'):
            quote = char
        elif char in "[]{}":
            raise YamlError("line %d: nested flow collections are not supported" % number)
        elif char == ",":
            items.append(current.strip())
            current = ""
            continue
        current += char
    if current.strip():
        items.append(current.strip())
    return items


def _flow_scalar(text, number):
    if text[:1] in ("'", '"'):
        return _quoted(text, text[0], number)
    return _plain(text)
