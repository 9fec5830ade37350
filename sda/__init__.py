"""sda: train a small generative audio model on your own sounds."""

__version__ = "0.1.0"

import logging

# A library does not print: the CLI and the web app decide what to show.
logging.getLogger("sda").addHandler(logging.NullHandler())
