"""The errors a user can fix, and the exit codes every command uses for them.

An `ExpectedError` is a problem with the input, the settings or a store (a file that cannot be
read or written): the command prints its message, one paragraph naming the file, setting or
column, with no traceback, and exits with its code. Anything else is a failure of the system
itself: the traceback is printed and the command exits with `UNEXPECTED_FAILURE`.
"""

from __future__ import annotations

DONE = 0
DATA_REJECTED = 1  # a batch broke the data contract and was quarantined
BAD_INPUT = 2  # bad usage, settings, documents or input files; an unreadable or unwritable store
UNEXPECTED_FAILURE = 3  # a bug or crash: the traceback says where

EXIT_CODES = {
    DONE: "done",
    DATA_REJECTED: "data rejected by the contract (the batch is quarantined)",
    BAD_INPUT: "bad usage, settings, contract or requirements, or an unreadable input or store",
    UNEXPECTED_FAILURE: "unexpected failure (a traceback follows)",
}


class ExpectedError(Exception):
    """A problem the user can fix; reported as one message and `exit_code`."""

    exit_code = BAD_INPUT
