"""``@rawhttp`` and ``AMLRequest`` (oep-server stand-in; see server/oep_aml_api.py)."""

from oep_aml_api import AMLRequest  # noqa: F401

__oep_shim__ = True

# oep-server reads this after importing the scoring script, as azmlinfsrv does.
_rawHttpRequested = False


def rawhttp(func):
    """Decorate run() to receive the raw request (an ``AMLRequest``) instead of the body as a string."""
    global _rawHttpRequested
    _rawHttpRequested = True
    return func
