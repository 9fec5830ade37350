"""Public-server mode: when strangers share this process, fairness limits are on by default.

The app is public when it runs as a Hugging Face Space (``SPACE_ID`` is
set), when it listens on anything but this machine (``GRADIO_SERVER_NAME``
other than localhost, 127.0.0.1 or ::1), or when ``SDA_PUBLIC=1``;
``SDA_PUBLIC=0`` turns it off whatever else holds. A local run keeps the
generous limits of one musician on their own machine.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

LOCAL_HOSTS = ("", "localhost", "127.0.0.1", "::1", "[::1]")


class PublicModeError(ValueError):
    """SDA_PUBLIC holds something other than 1 or 0."""


def is_public(env: Mapping[str, str] | None = None) -> bool:
    """True when this server is reachable by strangers (see the module's docstring); PublicModeError on nonsense."""
    env = os.environ if env is None else env
    raw = env.get("SDA_PUBLIC", "").strip().lower()
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    if raw:
        raise PublicModeError(f"Environment variable SDA_PUBLIC={raw!r} must be 1 (public limits) or 0 (local).")
    if env.get("SPACE_ID", "").strip():
        return True
    return env.get("GRADIO_SERVER_NAME", "").strip().lower() not in LOCAL_HOSTS


# name: (local default, public default); None means no cap. Each is an SDA_* variable (see settings.py).
FAIRNESS_DEFAULTS: dict[str, tuple] = {
    "max_epochs": (None, 300),
    "max_training_minutes": (None, 30.0),
    "max_event_queue": (None, 64),
    "max_generations_per_workspace": (None, 1),
    "max_pack_seconds": (3840.0, 120.0),  # 64 sounds x 60 s: today's largest pack
    "max_variation_seconds": (9600.0, 120.0),  # 16 variations x 600 s inputs
    "max_morph_steps": (16, 8),
    "max_morph_seconds": (60.0, 20.0),
    "max_play_input_seconds": (600.0, 60.0),
    "workspace_disk_mb": (None, 1000.0),  # every byte a workspace causes (see workspace_quota.py)
    "summary_max_minutes": (120.0, 10.0),  # audio one /summarize_dataset call decodes
}


def fairness_default(name: str, public: bool):
    """The default of setting ``name`` in public mode (``public``) or on a local machine."""
    local, shared = FAIRNESS_DEFAULTS[name]
    return shared if public else local
