"""Every benchmark script in scripts/ still starts: its imports resolve and it shows its usage.

The scripts are run by hand (README's figures come from them), so nothing
else notices when a module they use moves.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(p for p in (REPO_ROOT / "scripts").glob("*.py"))


def test_there_are_scripts_to_check():
    assert len(SCRIPTS) >= 5


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_the_script_starts_and_shows_its_usage(script):
    proc = subprocess.run([sys.executable, str(script), "--help"], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "usage" in proc.stdout.lower(), proc.stdout[:500]
