"""Attacks over HTTP on the app started as README says: ids and forged tokens open nothing, keys can be revoked.

The owner opens the page (a raw HTTP session, as a browser would) and gets a
workspace holding a trained model. An attacker who learned the owner's
workspace id (or who forges a token, or makes an id up) then calls every
event the server runs, the private ones included, by index, with that id in
every field a client fills. Nothing of the owner's comes back, nothing of
the owner's changes, and no folder appears for an id the server did not make.
"""

from __future__ import annotations

import json
import shutil

import pytest
from helpers import REPO_ROOT
from raw_gradio import RawSession, app_config, backend_events, component_types
from web_helpers import readme_app

from sda.server.credentials import browser_token, workspace_of_token
from sda.server.settings import AppSettings
from sda.server.workspace import new_workspace_id

gradio_client = pytest.importorskip("gradio_client")
RUN = "run-20250101-000000"


def _event(config: dict, api_name: str) -> dict:
    return next(d for d in backend_events(config) if d.get("api_name") == api_name)


def _tree(folder) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and time: any write shows."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")
            if p.is_file()}


@pytest.fixture(scope="module")
def owner(kit_run, tmp_path_factory):
    """The README app, and an owner whose workspace holds the kit model: (server, config, session, workspace)."""
    with readme_app(tmp_path_factory.mktemp("cred") / "server.log") as (server, _):
        config = app_config(server.url)
        session = RawSession(server.url)
        loaded = session.call(_event(config, "ui_load")["id"], [""])
        token = loaded["output"]["data"][0]
        workspace_id = workspace_of_token(AppSettings(data_root=REPO_ROOT), token)
        assert workspace_id, "the page got a token signed by the server"
        workspace = REPO_ROOT / "workspaces" / workspace_id
        shutil.copytree(kit_run, workspace / "runs" / RUN)
        yield server, config, session, workspace
        session.close()


def _attack_value(kind: str, props: dict, value: str, owner_file: str | None):
    """What a hostile client puts in a field of this kind: the stolen value, or a path to the owner's file.

    Choices get a valid choice (else Gradio refuses the call before any handler sees it), numbers a number.
    """
    if kind == "state":
        return None  # the server ignores it: State lives on the server
    if kind in ("number", "slider"):
        return 1
    if kind == "checkbox":
        return False
    if kind in ("radio", "dropdown") and props.get("choices"):
        return props["choices"][0][1]
    if kind in ("file", "uploadbutton"):
        if owner_file is None:
            return None
        data = {"path": owner_file, "orig_name": "x.pt", "meta": {"_type": "gradio.FileData"}}
        return [data] if props.get("file_count") in ("multiple", "directory") else data
    return value


def _call_everything(config, session: RawSession, value: str, owner_file: str | None, skip=()) -> list[dict]:
    """Every server-side event, each field filled with ``value``: the answers."""
    kinds = component_types(config)
    props = {c["id"]: c.get("props", {}) for c in config["components"]}
    answers = []
    for event in backend_events(config):
        if event.get("api_name") in skip:
            continue
        if owner_file and not any(kinds[i] in ("file", "uploadbutton") for i in event["inputs"]):
            continue
        data = [_attack_value(kinds[i], props[i], value, owner_file) for i in event["inputs"]]
        answers.append(session.call(event["id"], data))
    return answers


def _attack(config, session: RawSession, value: str, owner_file: str, skip=()) -> str:
    """All events with ``value``, then those taking files with the owner's file path: all answers, as text."""
    answers = _call_everything(config, session, value, None, skip)
    ran = sum(bool(a.get("success")) for a in answers)
    assert ran >= len(answers) * 2 // 3, f"only {ran} of {len(answers)} events ran: the attack missed the handlers"
    with_file = _call_everything(config, session, value, owner_file, skip)
    refused = not any(a.get("success") for a in with_file)
    assert with_file and refused, "a file path the client never uploaded is refused"
    return json.dumps(answers + with_file)


def test_a_stolen_id_a_forged_token_or_a_made_up_id_reach_nothing_through_any_event(owner):
    server, config, _, workspace = owner
    owner_id = workspace.name
    owner_token = browser_token(AppSettings(data_root=REPO_ROOT), owner_id)
    best = str(next((workspace / "runs" / RUN / "checkpoints").glob("*.pt")))
    made_up = new_workspace_id()
    attacks = [
        owner_id,  # the id, as an old model download or a shared screenshot gave it away
        "sdab_" + owner_id + "0" * 64,  # a token with a forged signature
        "sdab_" + made_up + "0" * 64,
        made_up,
    ]
    before = _tree(workspace)
    for value in attacks:
        session = RawSession(server.url)
        # First with no page state (a script that never loaded the page), then after a load sent the value.
        answers = _attack(config, session, value, best, skip=("ui_load",))
        loaded = session.call(_event(config, "ui_load")["id"], [value])
        given = workspace_of_token(AppSettings(data_root=REPO_ROOT), loaded["output"]["data"][0])
        assert given not in (owner_id, made_up), "a load that was not sent a valid token gets a new workspace"
        answers += _attack(config, session, value, best)
        session.close()
        answers = answers.replace(best, "<the path sent>").replace(value, "<the value sent>")  # echoes are no leak
        for secret in (owner_id, RUN, "checkpoint_epoch", owner_token[5:]):
            assert secret not in answers, f"{secret} reached a client that sent {value[:12]}…"
    assert _tree(workspace) == before, "nothing of the owner's changed"
    assert not (REPO_ROOT / "workspaces" / made_up).exists(), "no folder for an id the server did not make"


def test_the_documented_api_refuses_a_raw_id_and_an_old_key_stops_working(owner):
    server, config, session, workspace = owner
    session.call(_event(config, "play_load")["id"], [None])  # the page's second load step (the Play tab)
    replace = _event(config, "play_replace_api_key")["id"]
    first = session.call(replace, [None])["output"]["data"][0]["value"]
    client = gradio_client.Client(server.url, verbose=False)
    assert [r["Run"] for r in client.predict(first, api_name="/list_runs")] == [RUN]
    assert any(m["model"] == RUN for m in client.predict(first, api_name="/list_models"))

    second = session.call(replace, [None])["output"]["data"][0]["value"]
    assert second != first and workspace.name not in second.split(workspace.name)[1]
    for refused in (first, workspace.name):
        for endpoint, args in (("/list_runs", ()), ("/list_models", ()), ("/generate", (RUN, 1.0, 0, {}, 0.0))):
            with pytest.raises(Exception, match="opens no workspace") as error:
                client.predict(refused, *args, api_name=endpoint)
            assert workspace.name not in str(error.value) and str(REPO_ROOT) not in str(error.value)
    assert [r["Run"] for r in client.predict(second, api_name="/list_runs")] == [RUN]


def test_readme_says_how_every_event_the_server_runs_is_protected(tmp_path):
    import re

    from sda.ui.app import build_demo

    config = build_demo(AppSettings(data_root=tmp_path)).get_config_file()
    events = {d["api_name"] for d in backend_events(config)}
    readme = (REPO_ROOT / "README.md").read_text("utf-8")
    section = readme[readme.index("### Who can reach a workspace"):]
    section = section[: section.index("\n### ", 5)]
    listed = {name for row in section.splitlines() if row.startswith("| `")
              for name in re.findall(r"`(\w+)`", row.split("|")[1])}
    assert events == listed, f"README's table misses {events - listed} and lists gone events {listed - events}"
