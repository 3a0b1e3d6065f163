"""The state under `output/.state` and the output directory: the only code that knows the
state's namespaces and record shapes (typed stores), atomic files and the output lock."""
