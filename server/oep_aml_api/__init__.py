"""Flask-free stand-ins for azmlinfsrv's raw-HTTP API (``AMLRequest``, ``AMLResponse``, ``rawhttp``).

oep-server uses these when the real ``azureml_inference_server_http`` / ``azureml.contrib.services``
packages are not importable. The shim modules under ``server/oep_shims/`` re-export them under the
names scoring scripts import. ``AMLRequest`` mirrors the parts of ``flask.Request`` that scoring
scripts use (method, path, args, headers, get_data, get_json, form, files, ...); ``AMLResponse``
mirrors azmlinfsrv's ``AMLResponse(message, status_code, response_headers, json_str)``.

One module per topic: ``request`` (AMLRequest), ``response`` (AMLResponse, content_type_for),
``headers`` (Headers, options headers), ``multidict``, ``multipart`` (uploads), ``wsgi`` (the environ a
real werkzeug Request is built from), ``errors`` (werkzeug's exceptions) and ``rawhttp``. Everything is
imported from ``oep_aml_api`` itself, as it was when this was one file.

Standard library only; Python 3.8+.
"""

from .errors import BadRequest, BadRequestKeyError, UnsupportedMediaType
from .headers import Headers, parse_options_header, title_header_name
from .multidict import MultiDict
from .multipart import FileStorage
from .rawhttp import shim_rawhttp
from .request import AMLRequest
from .response import AMLResponse, content_type_for
from .wsgi import build_environ, wsgi_style_headers

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
