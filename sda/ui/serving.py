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

Copies are kept per workspace: a file under ``workspaces/<id>/`` is copied
into ``sda/w-<keyed hash of id>/`` of the cache, so the workspace quota
counts its served copies (workspace_quota.py) without the id showing in
any address; other files (the bundled demo) go to ``sda/shared/``. With a
disk quota set, the cache is cleaned more often (``cache_schedule``).

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
from sda.server.workspace import is_valid_workspace_id
from sda.server.workspace_quota import count_served_copies

_KEY = secrets.token_bytes(32)  # Gradio empties its cache at each start, so a key per process is enough
# Gradio's cache cleanup (every, older than), in seconds: as before without a quota; with one, copies
# age out within hours so that what a workspace was shown stops counting against it soon.
CACHE_SCHEDULE = (6 * 3600, 2 * 86400)
QUOTA_CACHE_SCHEDULE = (3600, 6 * 3600)


def served_root() -> Path:
    """The folder of every copy ``servable`` makes."""
    return Path(get_upload_folder()) / "sda"


def served_folder(workspace_id: str) -> Path:
    """The folder of the copies of one workspace's files (named by a keyed hash: the id never shows)."""
    return served_root() / f"w-{hmac.new(_KEY, workspace_id.encode(), hashlib.sha256).hexdigest()[:32]}"


def _owner_folder(source: Path) -> Path:
    """The served folder of the workspace ``source`` lies in (the last ``workspaces/<id>`` in its path)."""
    parts = source.parts
    owners = [parts[i + 1] for i in range(len(parts) - 1)
              if parts[i] == "workspaces" and is_valid_workspace_id(parts[i + 1])]
    return served_folder(owners[-1]) if owners else served_root() / "shared"


def cache_schedule(settings: AppSettings) -> tuple[int, int]:
    """``delete_cache`` for gr.Blocks: more often when a disk quota is set, since served copies count."""
    quota = settings.workspace_disk_mb is not None or settings.max_disk_gb is not None
    return QUOTA_CACHE_SCHEDULE if quota else CACHE_SCHEDULE


count_served_copies(served_folder)


def servable(path: str | Path, name: str | None = None) -> str:
    """A copy of ``path`` that Gradio may serve: what a handler returns to gr.File, gr.Audio or gr.Image.

    ``name`` is the file name the browser sees (and a download gets); by
    default the file's own, without leading dots.
    """
    given = Path(path)
    source = given.resolve()
    stat = source.stat()  # FileNotFoundError for a file that is gone: the caller says what is missing
    name = name or given.name.lstrip(".") or "file"
    key = f"{source}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()
    folder = hmac.new(_KEY, key, hashlib.sha256).hexdigest()[:40]
    copy = _owner_folder(source) / folder / name
    if copy.exists():
        os.utime(copy)  # Gradio's cache cleanup goes by age: a file shown again is young again
    else:
        atomic_copy(source, copy)
    return str(copy)


def blocked_paths(settings: AppSettings) -> list[str]:
    """Server files Gradio must never hand out itself: every workspace, the browser secret, the signing key."""
    return [str(settings.workspaces_root), str(secret_path(settings)), str(server_key_path(settings))]
