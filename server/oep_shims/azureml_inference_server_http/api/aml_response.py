"""``AMLResponse`` (oep-server stand-in; see server/oep_aml_api.py)."""

from oep_aml_api import AMLResponse  # noqa: F401

__oep_shim__ = True
