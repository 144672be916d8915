"""The parameter types. Nothing is imported here: numpy_parameter_type needs numpy and
pandas_parameter_type pandas, and a script imports only the ones it uses (as with the real package)."""
