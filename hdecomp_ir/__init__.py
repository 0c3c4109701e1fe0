"""hdecomp: the IR, front ends, loader, verifier and CLI."""
