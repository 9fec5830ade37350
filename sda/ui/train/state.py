"""What the server remembers about one open page (kept in a gr.State).

The page's workspace id comes from the signed token the browser keeps
(gr.BrowserState) once, at load, after its signature is checked
(sda/server/credentials.py); after that, handlers only trust this copy.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sda.server.dataset_summary import DatasetCheck
from sda.ui.train.dashboard import RunView


@dataclass
class PageState:
    workspace_id: str
    dataset: DatasetCheck = field(default_factory=DatasetCheck)
    view: RunView | None = None  # the run this page shows
    attach_count: int = 0  # tells the browser to clear its preview list
    pending_previews: list[str] = field(default_factory=list)
    last_phase: str = ""  # what the last refresh saw, to skip unchanged updates
    last_buttons: tuple = ()
    last_status: str = ""
    last_resume_info: str = ""
    last_runs_key: tuple = ()
    timer_active: bool = False
    step_plot_sent_at: float = 0.0
    plots_sent_at: float = 0.0
    epoch_plots_stale: bool = False  # new epochs arrived that the plots do not show yet
    notice: str = ""  # one-off message shown in the status line (resume summary, cancel)
    saves_before_request: int | None = None  # manual checkpoints seen when "Save now" was pressed
    # One handler at a time per page: a refresh must not read the run while Start replaces it.
    lock: threading.RLock = field(default_factory=threading.RLock, compare=False, repr=False)
