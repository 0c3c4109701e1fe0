"""One family of errors; the CLI turns each into one line and an exit code.

`UserInputError` is bad input (exit 2): the user must change a file or a flag.
`CheckFailed` is a verification that ran and did not hold (exit 1).
Every error carries where it happened (file, component, step) and what to do.
"""

from __future__ import annotations


def silence_known_noise() -> None:
    """Drop warnings torch prints on every run that say nothing about the user's model.

    torch warns on import when numpy is absent; hdecomp never converts tensors to numpy.
    Called by the CLI and by every worker process before torch is imported.
    """
    import warnings

    warnings.filterwarnings("ignore", message="Failed to initialize NumPy", category=UserWarning)


def first_line(err: BaseException, limit: int = 300) -> str:
    """First line of an exception message, bounded: errors are reported on one line."""
    text = (str(err).strip().splitlines() or [""])[0]
    return text if len(text) <= limit else text[:limit] + "..."


class HdecompError(Exception):
    """Base of every error hdecomp reports to a user."""

    exit_code = 2

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None) -> None:
        self.what = what
        self.where = where
        self.fix = fix
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """The message as the CLI prints it: `where: what; fix`."""
        text = f"{self.where}: {self.what}" if self.where else self.what
        if self.fix:
            text += f" ({self.fix})"
        return " ".join(text.split())


class UserInputError(HdecompError):
    """Bad input: a model file, a path, a flag or a JSON file the user must fix (exit 2)."""

    exit_code = 2


class TraceError(UserInputError):
    """No front end could take the model."""


class IRParseError(UserInputError):
    """A textual IR dump that does not follow the grammar of `hdecomp_ir/textual.py`.

    `line` is 1-based; `expected` says what the parser was looking for and `found` what it saw.
    """

    def __init__(self, line: int, expected: str, found: str, *, where: str | None = None) -> None:
        self.line = line
        self.expected = expected
        self.found = found
        super().__init__(f"line {line}: expected {expected}, found {found}", where=where,
                         fix="the file must be as `hdecomp ir --dump-dir` writes it")


class CheckFailed(HdecompError):
    """A verification ran and failed (exit 1)."""

    exit_code = 1


class IRInvariantError(HdecompError):
    """The IR broke one of its invariants: a bug in a pass, reported with the IR around it."""

    exit_code = 70
