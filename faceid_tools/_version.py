"""The version of faceid-tools: the one place it is written, in a module that imports nothing
(the wheel's metadata reads it too).
"""

__version__ = "0.2.0"
