"""A report page's HTML: an executed notebook rendered self-contained, with figures described.

JupyterLab's look without the CDN scripts; the ``parameters`` and ``injected-parameters`` cells
removed; a notebook may ask (``{"faceid_tools": {"report": {"exclude_input": true}}}``) to be shown
without its code.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from jinja2 import DictLoader
from nbconvert import HTMLExporter
from nbconvert.preprocessors import TagRemovePreprocessor
from nbformat import NotebookNode

from .defaults import INJECTED_TAG, PARAMETERS_TAG

__all__ = ["describe_figures", "exclude_input", "render_html"]


def exclude_input(nb: NotebookNode) -> bool:
    """Whether the notebook asks to be rendered without its code cells."""
    meta = nb.metadata.get("faceid_tools", {}).get("report", {})
    return bool(meta.get("exclude_input", False))


_TEMPLATE_NAME = "faceid_report.html.j2"
#: JupyterLab's look without the CDN scripts (require.js, MathJax, Mermaid): a report is one
#: self-contained file that opens offline and fetches nothing.  Figures are embedded PNGs whose
#: alternative text is the explanation that follows them (see :func:`describe_figures`).
_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block data_png scoped %}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}"
alt="{{ ((output | get_metadata('alt', 'image/png')) or 'Figure') | escape_html }}"
{%- set width=output | get_metadata('width', 'image/png') -%}
{%- if width is not none %} width={{ width | escape_html }}{%- endif %}
{%- set height=output | get_metadata('height', 'image/png') -%}
{%- if height is not none %} height={{ height | escape_html }}{%- endif %}
>
</div>
{%- endblock data_png %}
"""


_TAG = re.compile(r"<[^>]*>")
_MARKUP = re.compile(r"[*`#\[\]]|^>", re.MULTILINE)


def describe_figures(nb: NotebookNode) -> NotebookNode:
    """Give each figure output alternative text: the first sentence of the markdown cell after it.

    The notebooks explain every result in the markdown cell that follows it, so that sentence
    describes the figure to a screen reader too.  Works on (and returns) a copy.
    """
    nb = copy.deepcopy(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        following = nb.cells[i + 1] if i + 1 < len(nb.cells) else None
        text = ""
        if following is not None and following.cell_type == "markdown":
            plain = " ".join(_MARKUP.sub("", _TAG.sub("", following.source)).split())
            text = re.split(r"(?<=[.!?])\s", plain, maxsplit=1)[0][:300]
        for out in cell.get("outputs", []):
            if "image/png" in out.get("data", {}):
                meta = out.setdefault("metadata", {}).setdefault("image/png", {})
                meta.setdefault("alt", text or "Figure")
    return nb


def render_html(nb: NotebookNode, *, title: str | None = None) -> str:
    """Self-contained HTML for an executed notebook (figures embedded as ``data:`` URIs)."""
    nb = describe_figures(nb)
    hide = exclude_input(nb)
    exporter = HTMLExporter(
        template_name="lab",
        template_file=_TEMPLATE_NAME,
        extra_loaders=[DictLoader({_TEMPLATE_NAME: _TEMPLATE})],
        embed_images=True,
        exclude_input=hide,
        exclude_input_prompt=hide,
        exclude_output_prompt=hide,
    )
    exporter.register_preprocessor(
        TagRemovePreprocessor(remove_cell_tags={PARAMETERS_TAG, INJECTED_TAG}), enabled=True
    )
    resources: dict[str, Any] = {}
    if title:
        resources["metadata"] = {"name": title}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return body
