"""Exit codes, mapped in one place (kmod's tools exit 0 or 1)."""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1
    USAGE = 2
    INTERRUPTED = 130
