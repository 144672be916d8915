"""``@rawhttp`` and ``AMLRequest`` (oep-server stand-in; see server/oep_aml_api.py)."""

from oep_aml_api import AMLRequest, shim_rawhttp  # noqa: F401

__oep_shim__ = True

# oep-server reads this after importing the scoring script, as azmlinfsrv does; rawhttp sets it.
_rawHttpRequested = False

rawhttp = shim_rawhttp(globals())
