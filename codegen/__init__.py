"""Code generation: libcst builders for component files, steps, tests and JSON."""
