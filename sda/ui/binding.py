"""From handlers to Gradio events: ``@fills`` says what a handler fills, ``Binder`` wires it.

Every handler of the page returns {component name: new value}, holding only
what changed. ``@fills(...)``, written on the handler itself, names every
component it may fill; a ``Binder`` turns the handler into the keyword
arguments of a Gradio event (``button.click(inputs=[...], **bind(handler))``):

- the outputs are the filled components, in the order ``@fills`` names them;
  a name the handler left out gets ``gr.skip()`` (an idle refresh sends
  nothing), and a single output is sent as itself, not as a 1-tuple;
- text a user reads goes through ``public_value`` first: no server path
  (the data root least of all) and no workspace id reaches the browser;
- a handler given a PageState runs under that page's lock, one call per
  page at a time (a refresh must not read a run while Start replaces it);
- the API name is ``<prefix>_<handler name>``, private (not in the public API);
- a handler given a PageState or PlayState marks that workspace as used
  (cleanup spares it), and a generation counts as running while it runs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import gradio as gr
from gradio.blocks import Block

from sda.server.generators import GENERATION_ADMITTED
from sda.server.settings import AppSettings
from sda.server.usage import mark_used
from sda.ui.play.state import PlayState
from sda.ui.public_text import public_value
from sda.ui.train.state import PageState

Outputs = dict[str, Any]  # what a handler returns: {component name: new value}
Components = dict[str, Block]  # the page's components (and rows, tabs) by name
Handler = TypeVar("Handler", bound=Callable[..., Outputs])

# Components whose values are text a user reads: no server path or workspace id may reach them.
_TEXT_COMPONENTS = (gr.Markdown, gr.Textbox, gr.Dataframe, gr.HTML, gr.JSON)


def fills(*names: str) -> Callable[[Handler], Handler]:
    """Mark a handler with the names of every component it may fill (what ``Binder`` makes its outputs)."""

    def mark(handler: Handler) -> Handler:
        handler.fills = names
        return handler

    return mark


def filled_by(handler: Callable[..., Outputs]) -> tuple[str, ...]:
    """The names ``handler`` was marked with by ``@fills``."""
    names = getattr(handler, "fills", None)
    if not names:
        raise TypeError(f"{handler.__qualname__} has no @fills(...): say which components it fills")
    return tuple(names)


def shown(component: Block, value: Any, roots: tuple[Any, ...]) -> Any:
    """A handler's value as the browser may see it: text without server paths or workspace ids."""
    return public_value(value, roots) if isinstance(component, _TEXT_COMPONENTS) else value


class Binder:
    """Gradio's view of handlers, for the components of one page."""

    def __init__(self, components: Components, settings: AppSettings, api_prefix: str) -> None:
        self.components = components
        self.settings = settings
        self.roots = (settings.data_root,)  # no message may show where the server keeps its data
        self.api_prefix = api_prefix

    def __call__(self, handler: Callable[..., Outputs], *, wait: bool = True, progress_on: str | None = None,
                 generation: bool = False) -> dict[str, Any]:
        """Keyword arguments for a Gradio event that runs ``handler`` (inputs are the event's own).

        ``wait=False``: when the page is busy with another call, skip this
        one instead of queueing behind it (the timer's tick comes again).
        ``progress_on``: the component that shows progress; by default none
        does. ``generation``: the call runs the model, so it waits in the
        shared "generation" queue, a few at a time.
        """
        names = filled_by(handler)
        components, roots, settings = self.components, self.roots, self.settings

        @functools.wraps(handler)  # Gradio reads the handler's signature (gr.Progress, gr.SelectData)
        def run(*args: Any, **kwargs: Any) -> Any:
            workspace_id = _workspace_of(args)
            mark_used(settings, workspace_id)  # a tab kept open keeps its workspace
            result = _call_for_page(handler, args, kwargs, wait)  # generations: counted by the handler's gate
            values = tuple(shown(components[n], result[n], roots) if n in result else gr.skip() for n in names)
            return values[0] if len(values) == 1 else values

        options: dict[str, Any] = dict(
            fn=run, outputs=[components[n] for n in names],
            api_name=f"{self.api_prefix}_{handler.__name__}", api_visibility="private",
        )
        if progress_on:
            options.update(show_progress_on=[components[progress_on]])
        else:
            options.update(show_progress="hidden")
        if generation:
            # The handler's GenerationGate runs a few at once and refuses a workspace's extra jobs.
            options.update(concurrency_limit=GENERATION_ADMITTED, concurrency_id="generation")
        return options


def _workspace_of(args: tuple) -> str | None:
    """The workspace id of the first page or Play state among a handler's arguments."""
    state = next((a for a in args if isinstance(a, (PageState, PlayState))), None)
    return state.workspace_id if state is not None else None


def _call_for_page(handler: Callable[..., Outputs], args: tuple, kwargs: dict, wait: bool) -> Outputs:
    """``handler(*args, **kwargs)``, under the lock of the page it is given (if any); {} when it may not wait."""
    page = next((a for a in args if isinstance(a, PageState)), None)
    if page is None:
        return handler(*args, **kwargs)
    if not page.lock.acquire(blocking=wait):
        return {}
    try:
        return handler(*args, **kwargs)
    finally:
        page.lock.release()
