"""API handlers' errors, told the way the page tells them: through the public filter.

Page handlers have their text filtered by ``Binder`` (binding.py); API
handlers answer a script directly, so ``public_errors`` wraps each one: a
ValueError (the app's own errors: a refused key, an unknown model, a sound
that cannot be read) becomes a ``gr.Error`` with the same sentence, minus
server paths and workspace ids; a ``gr.Error`` is filtered the same way.
Anything else stays a bare "Error" (the app runs with ``show_error=False``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import gradio as gr

from sda.server.settings import AppSettings
from sda.ui.public_text import public_text


def public_errors(method: Callable[..., Any], settings: AppSettings) -> Callable[..., Any]:
    """``method`` for the public API: its error messages pass ``public_text``, with no traceback."""
    roots = (settings.data_root,)

    @functools.wraps(method)  # Gradio reads the signature (gr.api builds the endpoint from its type hints)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except gr.Error as exc:
            raise gr.Error(public_text(str(exc.message), roots)) from None
        except ValueError as exc:  # PlayError, GenerationError, DroppedSoundError, a refused API key
            raise gr.Error(public_text(str(exc), roots)) from None

    return run
