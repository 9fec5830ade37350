#!/usr/bin/env bash
# Set up sda in ./.venv. With --dev, also the test tools and a browser for
# the browser tests and a sampler for the instrument tests (Debian's chromium and
# fluidsynth, installed with apt when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# apt_install COMMAND PACKAGE WHAT: install Debian's PACKAGE when COMMAND is missing (WHAT needs it).
apt_install() {
  if command -v "$1" >/dev/null 2>&1 || [[ -x "/usr/bin/$1" ]]; then
    return
  fi
  if command -v apt-get >/dev/null 2>&1; then
    echo "Installing $2 for $3..."
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "$2" >/dev/null
  else
    echo "$1 not found: $3 will be skipped." >&2
  fi
}
if [[ "${1:-}" == "--dev" ]]; then
  .venv/bin/python -m pip install -q -r requirements-dev.txt
  apt_install chromium chromium "the browser tests"
  apt_install fluidsynth fluidsynth "the tests that play exported instruments"
else
  .venv/bin/python -m pip install -q -r requirements.txt
fi
.venv/bin/python -m pip install -q --no-deps -e .
