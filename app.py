"""sda web app: `python app.py`, then open http://localhost:7860.

Binds to 127.0.0.1 unless GRADIO_SERVER_NAME says otherwise (a Space sets
0.0.0.0); GRADIO_SERVER_PORT picks the port. SDA_* variables set the data
folder and the limits (see sda/server/settings.py).
"""

import sys

from sda.server.limits_report import limits_report
from sda.server.settings import AppSettings, SettingsError
from sda.ui.app import build_demo, launch_options

try:
    settings = AppSettings.from_env()
except SettingsError as exc:
    sys.exit(f"sda: {exc}")
demo = build_demo(settings)

if __name__ == "__main__":
    print(limits_report(settings), flush=True)  # what one visitor may ask of this server, and the variables
    demo.launch(**launch_options(settings))
