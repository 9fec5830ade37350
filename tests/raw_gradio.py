"""Calling a Gradio app the way an attacker would: any event by its index, over plain HTTP.

gradio_client refuses events marked private, but the server does not: the
page's config lists every event, and ``/gradio_api/queue/join`` runs any of
them by ``fn_index`` for whoever asks. ``RawSession`` is one such caller
(one session hash, so server-side state carries from call to call).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx


def app_config(url: str) -> dict:
    """The config the page itself loads (every component and every event)."""
    return httpx.get(url.rstrip("/") + "/config", timeout=30).json()


def backend_events(config: dict) -> list[dict]:
    """Every event that runs Python on the server (the ones only JavaScript runs are left out)."""
    return [d for d in config["dependencies"] if d.get("backend_fn")]


def component_types(config: dict) -> dict[int, str]:
    return {c["id"]: c["type"] for c in config["components"]}


class RawSession:
    """One browser session, faked: calls events by index and returns what came back (as text and as data)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.session_hash = secrets.token_hex(8)
        self.http = httpx.Client(timeout=120)

    def call(self, fn_index: int, data: list[Any]) -> dict:
        """Run event ``fn_index`` with ``data``; the final message ({"success": ..., "output": ...})."""
        joined = self.http.post(
            f"{self.url}/gradio_api/queue/join",
            json={"data": data, "event_data": None, "fn_index": fn_index, "trigger_id": None,
                  "session_hash": self.session_hash},
        )
        if joined.status_code != 200:
            return {"success": False, "refused": joined.status_code, "output": joined.text}
        with self.http.stream(
            "GET", f"{self.url}/gradio_api/queue/data", params={"session_hash": self.session_hash}
        ) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("msg") in ("process_completed", "unexpected_error"):
                    return message
        return {"success": False, "output": "stream ended"}

    def close(self) -> None:
        self.http.close()
