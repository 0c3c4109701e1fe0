"""Checks of a whole decomposition directory: `hdecomp verify`, `hdecomp test`, `hdecomp coverage`.

    layout.check_layout(dir)        tree and files against the specification (rule codes)
    selftest.run_selftests(dir)     every component file's self-test, as `python file.py` would
    coverage.coverage_report(...)   compute-op inventory of a model against its decomposition
    verify.verify_dir(dir)          all of the above plus every step (stale results re-run)

Nothing here writes anything but the result files the specification names.
"""
