"""HTTP/1.1 on a socket: request heads, bodies (length or chunked), responses, gunicorn's limits."""

import html
import socket
import time
from email.utils import formatdate
from urllib.parse import unquote, urlsplit


MAX_HEAD_BYTES = 64 * 1024
# gunicorn's limit_request_field_size and limit_request_fields (azmlinfsrv runs under gunicorn):
# a header line longer than this, CRLF included, or more header fields answer 431.
MAX_HEADER_LINE_BYTES = 8190
MAX_HEADER_FIELDS = 100
CT_JSON = "application/json"
CT_HTML = "text/html; charset=utf-8"
_date_cache = (0, "")


def _date_line():
    """The Date header's line, made once a second."""
    global _date_cache
    now = int(time.time())
    cached = _date_cache
    if cached[0] != now:
        cached = _date_cache = (now, "Date: %s\r\n" % formatdate(now, usegmt=True))
    return cached[1]


# werkzeug's reason phrases, which it sends upper case ("404 NOT FOUND"): what azmlinfsrv's
# clients see, e.g. in the message of requests' raise_for_status(). Fixed here rather than taken
# from http.HTTPStatus, whose phrases differ from werkzeug's and change between Python versions.
REASONS = {
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
    return REASONS.get(code, "Unknown").upper()


_STATUS_LINES = {}


def status_line(code):
    line = _STATUS_LINES.get(code)
    if line is None:
        line = _STATUS_LINES[code] = "HTTP/1.1 %d %s\r\n" % (code, _reason(code))
    return line


def _encode_head(text):
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def clean_header(text):
    text = str(text)
    if "\r" in text or "\n" in text:
        text = text.replace("\r", " ").replace("\n", " ")
    return text


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
    # No line is longer than the whole head: most heads need no check line by line.
    check_lines = len(text) + 2 > MAX_HEADER_LINE_BYTES
    del lines[0]
    for line in lines:
        if not line:
            continue
        if check_lines and len(line) + 2 > MAX_HEADER_LINE_BYTES:
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


HOP_BY_HOP = frozenset(("content-length", "transfer-encoding", "connection", "keep-alive", "date"))


def serialize_response(status, headers, body, head_only, keep_alive, http10):
    parts = [f"{name}: {value}\r\n" for name, value in headers]
    parts.insert(0, status_line(status))
    no_body = status in (204, 304) or 100 <= status < 200
    if not no_body:
        parts.append(f"Content-Length: {len(body)}\r\n")
    parts.append(_date_line())
    if not keep_alive:
        parts.append("Connection: close\r\n\r\n")
    elif http10:
        parts.append("Connection: keep-alive\r\n\r\n")
    else:
        parts.append("\r\n")
    head = _encode_head("".join(parts))
    if head_only or no_body or not body:
        return head
    return head + body


def linger(sock, limit=1 << 20, timeout_s=1.0):
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
