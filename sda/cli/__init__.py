"""``python -m sda``: the command line (training in main.py, using a model in generation.py)."""

from sda.cli.main import main

__all__ = ["main"]
