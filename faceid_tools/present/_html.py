"""An HTML fragment that Jupyter displays as such."""

from __future__ import annotations

__all__ = ["Html"]


class Html:
    """A piece of HTML that Jupyter displays as such (``_repr_html_``)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def _repr_html_(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text
