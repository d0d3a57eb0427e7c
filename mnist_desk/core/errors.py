"""One error hierarchy for the CLI and the GUI's jobs.

A ``UserError`` is something the person can fix (a bad file, a missing data folder, a bad
option): the CLI prints its one-sentence message and exits 2, a job shows it in the window.
Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class MnistDeskError(Exception):
    """Base class of every error mnist-desk raises on purpose."""


class UserError(MnistDeskError):
    """A mistake the person can fix; the message is one sentence saying how."""


class JobCancelled(MnistDeskError):
    """Raised inside a job when ``should_stop()`` turned true; not a failure."""
