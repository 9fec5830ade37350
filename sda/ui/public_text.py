"""Text for the browser without the server's secrets: no absolute paths, no workspace ids.

Messages come from many places (decoders, the training engine, the
operating system) and some of them name files by their full path on the
server ("Error opening '/data/workspaces/<id>/uploads/set-.../kick.wav'").
A user needs only the file's name; the rest would tell anyone watching
where the server keeps its data, and the workspace id is the key to a
user's runs. ``public_text`` keeps the last part of every absolute path
and hides anything shaped like a workspace id. binding.py runs every text
the page shows through it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# An absolute path of two or more parts, not inside a URL or a relative path.
_PATH = re.compile(r"""(?<![\w:/.~-])(?:/[^\s/'"`<>|,;()\[\]]+)+/([^\s/'"`<>|,;()\[\]]+)""")
_WORKSPACE_ID = re.compile(r"\b[0-9a-f]{32}\b")


def public_text(text: str, roots: Iterable[str | Path] = ()) -> str:
    """``text`` with every absolute path cut to its last part and workspace ids hidden.

    ``roots`` are folders the server keeps data in (the data root): a path
    inside one loses it and its folders even when the root's own name has
    spaces, which the general rule cannot tell from the end of a path.
    """
    for root in roots:
        text = re.sub(re.escape(str(root).rstrip("/")) + r"/(?:[\w.-]+/)*", "", text)
    return _WORKSPACE_ID.sub("(your workspace)", _PATH.sub(r"\1", text))


def public_value(value: Any, roots: Iterable[str | Path] = ()) -> Any:
    """``public_text`` applied to every string in a component value (tables, updates, JSON)."""
    if isinstance(value, str):
        return public_text(value, roots)
    if isinstance(value, (list, tuple)):
        return type(value)(public_value(item, roots) for item in value)
    if isinstance(value, dict):
        return {key: public_value(item, roots) for key, item in value.items()}
    return value
