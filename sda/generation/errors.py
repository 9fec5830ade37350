"""The one error type generation raises for things a user can fix."""

from __future__ import annotations


class GenerationError(ValueError):
    """A setting, file or model that generation cannot use; the message says which and what to do."""
