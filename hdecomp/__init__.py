"""The `hdecomp` command line, on top of every stage."""
