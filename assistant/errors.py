"""Typed errors. Raised anywhere below the edges, translated once at each edge.

The CLI prints ``error: <message>`` on one line and exits with ``exit_code``; the TUI shows a
notification; MCP servers return ``isError`` results.
"""

from __future__ import annotations


class AssistantError(Exception):
    """An expected failure with a message meant for the user (one line, no traceback)."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(AssistantError):
    """The user asked for something malformed: bad flag value, empty prompt, invalid setting."""

    exit_code = 2


class SettingsError(UsageError):
    """A configuration file, environment variable or flag holds an invalid value."""


class ModelLoadError(AssistantError):
    """A model or tokenizer could not be resolved or loaded."""


class ContextLengthError(UsageError):
    """A prompt does not fit in the model's context window and truncation is disabled."""


class DataError(AssistantError):
    """Input documents are missing, empty or unreadable."""


class IndexStoreError(AssistantError):
    """The document index is missing, locked, inconsistent or built with another model."""


class ToolCallError(AssistantError):
    """A tool server failed, timed out or returned an error (a client-side failure; not the
    ``ToolError`` an MCP server raises to answer with ``isError``)."""
