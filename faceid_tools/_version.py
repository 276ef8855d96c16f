"""The version of faceid-tools: the one place it is written (the wheel's metadata reads it too)."""

__version__ = "0.2.0"
