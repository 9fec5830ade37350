"""The block of limits the app prints when it starts: every fairness limit, its value and its variable.

An operator reads it in the Space's log (or the terminal) to see what one
visitor may ask of this server, and which variable changes it.
"""

from __future__ import annotations

from sda.server.settings import AppSettings


def _cap(value, unit: str = "") -> str:
    if value is None:
        return "no cap"
    number = f"{value:g}" if isinstance(value, float) else str(value)
    return f"{number}{unit}"


def limit_rows(settings: AppSettings) -> list[tuple[str, str, str]]:
    """(variable, what it limits, its value here) for every limit of this server."""
    s = settings
    return [
        ("SDA_MAX_EPOCHS", "epochs per run", _cap(s.max_epochs)),
        ("SDA_MAX_TRAINING_MINUTES", "training minutes per run", _cap(s.max_training_minutes, " min")),
        ("SDA_MAX_CONCURRENT_TRAININGS", "trainings at once",
         _cap(s.max_concurrent_trainings) if s.max_concurrent_trainings else "1 on CPU, 2 on a GPU"),
        ("SDA_MAX_QUEUE", "runs waiting for a training slot", _cap(s.max_queue)),
        ("(fixed)", "queued or running trainings per workspace", "1"),
        ("SDA_MAX_EVENT_QUEUE", "events waiting in the page's queue", _cap(s.max_event_queue)),
        ("SDA_MAX_GENERATIONS_PER_WORKSPACE", "sounds being made or waiting per workspace",
         _cap(s.max_generations_per_workspace)),
        ("SDA_MAX_PACK_SECONDS", "sample pack: sounds x seconds each", _cap(s.max_pack_seconds, " s")),
        ("SDA_MAX_VARIATION_SECONDS", "variations: count x dropped sound's length",
         _cap(s.max_variation_seconds, " s")),
        ("SDA_MAX_MORPH_STEPS", "steps of one morph", _cap(s.max_morph_steps)),
        ("SDA_MAX_MORPH_SECONDS", "length of one continuous morph", _cap(s.max_morph_seconds, " s")),
        ("SDA_MAX_PLAY_INPUT_SECONDS", "length of a sound dropped on Play", _cap(s.max_play_input_seconds, " s")),
        ("SDA_MAX_DISK_GB", "disk of all workspaces together", _cap(s.max_disk_gb, " GB")),
        ("SDA_MAX_FILE_MB", "one uploaded file", _cap(s.max_file_mb, " MB")),
        ("SDA_MAX_FILES", "audio files per dataset", _cap(s.max_files)),
        ("SDA_MAX_UPLOAD_MB", "bytes per dataset", _cap(s.max_upload_mb, " MB")),
        ("SDA_MAX_TOTAL_MINUTES", "audio per dataset", _cap(s.max_total_minutes, " min")),
        ("SDA_MAX_FILE_MINUTES", "one sound file's length", _cap(s.max_file_minutes, " min")),
        ("SDA_WORKSPACE_TTL_DAYS", "untouched workspaces are deleted after",
         "never" if not s.workspace_ttl_days else _cap(s.workspace_ttl_days, " days")),
    ]


def limits_report(settings: AppSettings) -> str:
    """The printed block: the mode, then one line per limit."""
    mode = ("public mode (a Space, a non-local address, or SDA_PUBLIC=1; SDA_PUBLIC=0 turns it off)"
            if settings.public else "local mode (SDA_PUBLIC=1 gives the public limits)")
    rows = limit_rows(settings)
    width = max(len(name) for name, _, _ in rows)
    value_width = max(len(value) for _, _, value in rows)
    lines = [f"sda limits, {mode}:"]
    lines += [f"  {name:<{width}}  {value:<{value_width}}  {what}" for name, what, value in rows]
    return "\n".join(lines)
