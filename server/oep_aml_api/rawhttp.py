"""The ``rawhttp`` decorator of the shim ``aml_request`` modules."""


def shim_rawhttp(module_globals):
    """The ``rawhttp`` decorator of a shim ``aml_request`` module, given that module's ``globals()``.

    It sets the module's ``_rawHttpRequested``, which oep-server reads after importing the scoring
    script, as azmlinfsrv does.
    """

    def rawhttp(func):
        """Decorate run() to receive the raw request (an ``AMLRequest``) instead of the body as a string."""
        module_globals["_rawHttpRequested"] = True
        return func

    rawhttp.__module__ = module_globals["__name__"]
    return rawhttp
