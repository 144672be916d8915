"""The request as WSGI has it: the environ a real werkzeug Request is built from, headers as werkzeug sees them."""

import io
import sys

from .headers import title_header_name


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
        "wsgi.errors": sys.stderr,
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
