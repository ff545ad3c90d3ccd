"""Why the file lookup refused or failed a request: one exception class per reason."""

from __future__ import annotations


class SandboxError(Exception):
    """A refused or failed request; ``reason`` is a short fixed label, the message says more."""

    reason = "error"

    def __init__(self, detail: str) -> None:
        super().__init__(f"{self.reason}: {detail}")
        self.detail = detail


class InvalidRequestError(SandboxError):
    reason = "invalid request"


class OutsideRootError(SandboxError):
    reason = "outside root"


class NotFoundError(SandboxError):
    reason = "not found"


class NotRegularFileError(SandboxError):
    reason = "not a regular file"


class NotDirectoryError(SandboxError):
    reason = "not a directory"


class BinaryFileError(SandboxError):
    reason = "binary file"


class TooLargeError(SandboxError):
    reason = "too large"
