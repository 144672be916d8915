"""oep-server's stand-in for Microsoft's inference-schema package (``pip install inference-schema``).

Scoring scripts decorate run() with ``@input_schema`` / ``@output_schema`` from
``inference_schema.schema_decorators`` and describe their parameters with the types of
``inference_schema.parameter_types``. azmlinfsrv depends on the package; an offline environment
usually lacks it, and the script would then fail at import. oep-server appends ``oep_shims/`` to
``sys.path`` after site-packages, so this module is only imported when the real package is not
installed (the real one always wins).

What it does, as the real package does:
- the decorators record JSON schemas (type/format/items/properties/required/example) made from the
  sample values, per function, in ``schema_util``, which oep-server reads to generate swagger
  (as azmlinfsrv does);
- ``@input_schema`` converts the JSON value a parameter receives into the sample's type: numpy
  arrays with the sample's dtype and shape, pandas DataFrames read in the declared orient
  (``records`` by default), nested standard types whose items are parameter types.

Written for oep from the package's documented behaviour; standard library only (numpy and pandas
only for their parameter types).
"""

__oep_shim__ = True
