#!/usr/bin/env bash
# Set up sda in ./.venv. With --dev, also the test tools and a browser for
# the browser tests (Debian's chromium, installed with apt when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if [[ "${1:-}" == "--dev" ]]; then
  .venv/bin/python -m pip install -q -r requirements-dev.txt
  if ! command -v chromium >/dev/null 2>&1 && [[ ! -x /usr/bin/chromium ]]; then
    if command -v apt-get >/dev/null 2>&1; then
      echo "Installing chromium for the browser tests..."
      SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
      $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null
    else
      echo "chromium not found: browser tests will be skipped." >&2
    fi
  fi
  if ! command -v fluidsynth >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
      echo "Installing fluidsynth for the instrument tests..."
      SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
      $SUDO apt-get update -qq && $SUDO apt-get install -y -qq fluidsynth >/dev/null
    else
      echo "fluidsynth not found: the tests that play exported instruments will be skipped." >&2
    fi
  fi
else
  .venv/bin/python -m pip install -q -r requirements.txt
fi
.venv/bin/python -m pip install -q --no-deps -e .
