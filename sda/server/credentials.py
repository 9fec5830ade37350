"""Who may reach a workspace: the browser token and the API key.

A workspace id alone opens nothing. Only the server makes ids
(``workspace.new_workspace_id``), and it hands a browser a *token*: the id
signed with HMAC-SHA256 under a key that never leaves the server (a file in
the data root, created once, readable by its owner only, never served). A
page load accepts only a token whose signature checks out; anything else
gets a fresh workspace.

Scripts use an *API key* instead: random, made on request from the Play
page, shown once. The workspace keeps only its SHA-256, so a copied
workspace folder gives nothing away, and making a new key replaces the old
one (the old key stops working at once).

Both are ``<prefix><id><secret>`` in hex, with no separator, so the id
never stands alone as a word in them.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import threading
from pathlib import Path

from sda.atomic import atomic_write_bytes
from sda.server.settings import AppSettings
from sda.server.workspace import Workspace, is_valid_workspace_id

TOKEN_PREFIX = "sdab_"  # browser token: id + HMAC of the id
API_KEY_PREFIX = "sdak_"  # API key: id + random secret
API_KEY_FILE = ".api-key.sha256"  # in the workspace folder: the SHA-256 of the key's secret, nothing else
_TOKEN = re.compile(r"^sdab_([0-9a-f]{32})([0-9a-f]{64})$")
_API_KEY = re.compile(r"^sdak_([0-9a-f]{32})([0-9a-f]{64})$")
_KEYS: dict[Path, bytes] = {}
_KEYS_LOCK = threading.Lock()


def server_key_path(settings: AppSettings) -> Path:
    """Where the signing key lives (blocked from serving: see sda/ui/serving.py)."""
    return settings.data_root / ".sda-server-key"


def server_key(settings: AppSettings) -> bytes:
    """The key browser tokens are signed with; made once, stable across restarts.

    It is written to a private temporary file (0600 from its first byte)
    and linked into place, so no reader ever sees a half-written key and
    two processes starting at once end up with the same one.
    """
    path = server_key_path(settings)
    with _KEYS_LOCK:
        if path in _KEYS:
            return _KEYS[path]
        if not path.exists():
            _create_key(path)
        _KEYS[path] = _read_key(path)
        return _KEYS[path]


def _read_key(path: Path) -> bytes:
    try:
        key = bytes.fromhex(path.read_text("ascii").strip())
    except (OSError, ValueError):
        key = b""
    if len(key) < 16:
        raise RuntimeError(
            f"The signing key '{path}' cannot be read or is damaged. Delete it and start the app again: "
            "a new key is made, and every browser starts over with a new workspace."
        )
    return key


def _create_key(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(32))
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(temp, path)  # fails if another process made the key first: then theirs is the key
    except FileExistsError:
        pass
    finally:
        temp.unlink(missing_ok=True)


def _signature(settings: AppSettings, workspace_id: str) -> str:
    return hmac.new(server_key(settings), b"sda browser token\0" + workspace_id.encode(), hashlib.sha256).hexdigest()


def browser_token(settings: AppSettings, workspace_id: str) -> str:
    """The token a browser keeps for ``workspace_id`` (only the server can make one)."""
    if not is_valid_workspace_id(workspace_id):
        raise ValueError("invalid workspace id")
    return TOKEN_PREFIX + workspace_id + _signature(settings, workspace_id)


def workspace_of_token(settings: AppSettings, token: object) -> str | None:
    """The workspace id a browser token was signed for; None for anything unsigned, forged or malformed."""
    match = _TOKEN.match(token) if isinstance(token, str) else None
    if match is None:
        return None
    workspace_id, signature = match.groups()
    return workspace_id if hmac.compare_digest(signature, _signature(settings, workspace_id)) else None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def new_api_key(workspace: Workspace) -> str:
    """Make a new API key for ``workspace``, replacing (revoking) any earlier one; returned once, never stored."""
    secret = secrets.token_hex(32)
    workspace.dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(workspace.dir / API_KEY_FILE, _digest(secret).encode("ascii"))
    return API_KEY_PREFIX + workspace.id + secret


def has_api_key(workspace: Workspace) -> bool:
    """Whether a key was ever made for ``workspace`` (the page says so; the key itself is not kept)."""
    return (workspace.dir / API_KEY_FILE).is_file()


def workspace_of_api_key(settings: AppSettings, key: object) -> Workspace | None:
    """The workspace ``key`` opens; None for an unknown, replaced or malformed key (nothing is created)."""
    match = _API_KEY.match(key.strip()) if isinstance(key, str) else None
    if match is None:
        return None
    workspace_id, secret = match.groups()
    workspace = Workspace(settings, workspace_id)
    try:
        stored = (workspace.dir / API_KEY_FILE).read_text("ascii").strip()
    except (OSError, ValueError):
        return None
    return workspace if hmac.compare_digest(stored, _digest(secret)) else None


class ApiKeyRefused(ValueError):
    """An API call came with a key that opens no workspace."""


API_KEY_REFUSED = (
    "This API key opens no workspace: it is mistyped, or it was replaced. Make a new one on the Play page "
    "(\"Use this workspace from a script\") and pass it as the first argument."
)


def require_api_key(settings: AppSettings, key: object) -> Workspace:
    """The workspace ``key`` opens, or ApiKeyRefused (saying what to do); never creates anything."""
    workspace = workspace_of_api_key(settings, key)
    if workspace is None:
        raise ApiKeyRefused(API_KEY_REFUSED)
    return workspace
