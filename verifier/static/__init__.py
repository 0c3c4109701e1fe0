"""Static anti-cheat rules: every step file parsed with libcst, never executed."""
