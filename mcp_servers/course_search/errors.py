"""The one refusal of the course search: its message is the tool error the client sees."""

from __future__ import annotations


class CourseSearchError(Exception):
    """A bad argument, a missing or mismatched index, an unknown source (one line)."""
