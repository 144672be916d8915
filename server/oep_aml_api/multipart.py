"""multipart/form-data bodies: the uploads (FileStorage) and the fields of request.files and request.form."""

import io
import shutil

from .headers import ContentTypeFromHeaders, Headers, parse_options_header
from .multidict import MultiDict


class FileStorage(ContentTypeFromHeaders):
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


def parse_multipart(body, boundary, charset):
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
