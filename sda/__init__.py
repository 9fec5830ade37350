"""sda: train a small generative audio model on your own sounds."""

__version__ = "0.1.0"
