"""oep-server's stand-in for azureml-contrib-services (``aml_request`` / ``aml_response``).

``azureml`` and ``azureml.contrib`` are namespace packages here so a real ``azureml`` install still wins.
"""

__oep_shim__ = True
