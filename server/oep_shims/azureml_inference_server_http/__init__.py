"""oep-server's stand-in for azureml-inference-server-http's public API (only ``api`` is provided).

Put on sys.path by oep-server only when the real package is not importable.
"""

__oep_shim__ = True
