"""The BrowserState key: what Gradio encrypts the browser's stored token with.

This is NOT a secret that protects anything: Gradio sends it to every
visitor in the page config. What keeps a workspace private is the signed
token stored under it (sda/server/credentials.py), whose signing key never
leaves the server. The key must still outlive a restart (a new key would
make every browser forget its token), so it is kept in a file under the
data root unless SDA_BROWSER_SECRET gives it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sda.server.settings import AppSettings


def secret_path(settings: AppSettings) -> Path:
    """Where the browser secret is kept (when SDA_BROWSER_SECRET does not give it)."""
    return settings.data_root / ".sda-browser-secret"


def browser_secret(settings: AppSettings) -> str:
    """The key the browser's copy of the workspace id is stored under; stable across restarts.

    SDA_BROWSER_SECRET wins if set. The file is created readable by its
    owner only from its first byte (no window in which another user of the
    machine could read it).
    """
    if os.environ.get("SDA_BROWSER_SECRET"):
        return os.environ["SDA_BROWSER_SECRET"]
    path = secret_path(settings)
    try:
        return path.read_text("utf-8").strip()
    except OSError:
        pass
    settings.data_root.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(16)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text("utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret)
    return secret
