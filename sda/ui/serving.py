"""The one way a file on this server reaches the browser: ``servable(path)``.

Gradio serves only files in its own cache folder. Given a path by a
handler, it first copies the file there, but only if the file lies under
the working folder or the temp folder and, under the working folder, is
not a dotfile. The data root may be anywhere (the working folder by
default, the temp folder in tests, a Space's persistent ``/data``), so
every file the page shows or offers (dataset picture, previews, model
downloads, generated sounds, packs) goes through ``servable``: it copies
the file into Gradio's cache itself. Gradio serves a file already in its
cache as it is, and ages it out with the rest of its cache (``delete_cache``).

The copy sits in a folder named by a keyed hash of the file's path, size
and time: nobody can guess it (the cache folder is served to whoever
knows a name), a changed file gets a new copy, and showing the same file
again costs a ``stat``, not a copy.

Nothing of the data root is ever served directly: ``launch_options``
blocks the workspaces folder, the browser secret and the server's
signing key (sda/server/credentials.py), so a path handed to
Gradio without ``servable`` fails loudly instead of leaking.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from gradio.utils import get_upload_folder

from sda.atomic import atomic_copy
from sda.server.credentials import server_key_path
from sda.server.secret import secret_path
from sda.server.settings import AppSettings

_KEY = secrets.token_bytes(32)  # Gradio empties its cache at each start, so a key per process is enough


def servable(path: str | Path, name: str | None = None) -> str:
    """A copy of ``path`` that Gradio may serve: what a handler returns to gr.File, gr.Audio or gr.Image.

    ``name`` is the file name the browser sees (and a download gets); by
    default the file's own, without leading dots.
    """
    source = Path(path)
    stat = source.stat()  # FileNotFoundError for a file that is gone: the caller says what is missing
    name = name or source.name.lstrip(".") or "file"
    key = f"{source.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()
    folder = hmac.new(_KEY, key, hashlib.sha256).hexdigest()[:40]
    copy = Path(get_upload_folder()) / "sda" / folder / name
    if copy.exists():
        os.utime(copy)  # Gradio's cache cleanup goes by age: a file shown again is young again
    else:
        atomic_copy(source, copy)
    return str(copy)


def blocked_paths(settings: AppSettings) -> list[str]:
    """Server files Gradio must never hand out itself: every workspace, the browser secret, the signing key."""
    return [str(settings.workspaces_root), str(secret_path(settings)), str(server_key_path(settings))]
