"""The werkzeug exceptions a scoring script may catch or raise: BadRequest and its kin."""


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
