"""Judging a step from the trusted side: numerics, degenerate outputs, the verdict."""
