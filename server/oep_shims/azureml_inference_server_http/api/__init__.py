__oep_shim__ = True
