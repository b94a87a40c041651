"""One self-contained, offline HTML page from an executed notebook; shared page pieces.

nbconvert's lab template loads require.js, MathJax, Mermaid and the widget
manager from CDNs; the pages need none of them (plotly.js is inlined by the
"notebook" renderer), so those blocks are emptied and every page is checked to
reference nothing remote before it is written.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from lab.io import LabError

TEMPLATE = r"""{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block extra_css -%}
<style>
body { max-width: 1200px; margin: 0 auto; }
.jp-OutputArea-output img { max-width: 100%; height: auto; }
.lab-verdict { font-size: 1.4em; padding: 0.6em 1em; border-radius: 8px; margin: 0.5em 0; }
.lab-good { background: #e6f4ea; border-left: 8px solid #2ca02c; }
.lab-bad { background: #fdecea; border-left: 8px solid #d62728; }
.lab-mid { background: #fff7e0; border-left: 8px solid #e0a800; }
.lab-verdict-note { font-size: 0.7em; }
.lab-p-same { font-size: 0.8em; }
.lab-notes { color: #666; font-size: 0.85em; }
.lab-scroll { overflow-x: auto; max-width: 100%; }
.lab-scroll td { white-space: nowrap; }
.lab-scroll td.lab-unjudged { white-space: normal; min-width: 14em; }
.lab-technical { margin: 2em 0; color: #444; }
.lab-technical th { text-align: left; vertical-align: top; padding-right: 1em; }
.lab-technical td { word-break: break-word; }
.lab-downloads li { margin: 0.3em 0; }
.lab-nav { font-family: system-ui, sans-serif; font-size: 0.9em; max-width: 1200px; margin: 0.5em auto; padding: 0 1em; }
video { max-width: 100%; height: auto; }
.lab-player video { width: 100%; max-height: 75vh; background: #000; object-fit: contain; }
.lab-controls { display: flex; flex-wrap: wrap; gap: 0.4em; align-items: center; margin: 0.3em 0; }
.lab-controls button, .lab-controls select { font-size: 1em; padding: 0.3em 0.7em; }
.lab-times { font-variant-numeric: tabular-nums; }
.lab-scrub { width: 100%; }
.lab-cue-now { background: #fff3b0; font-weight: bold; }
@media (max-width: 600px) {
  .lab-verdict { font-size: 1.15em; padding: 0.5em 0.7em; }
  .jp-Cell { padding-left: 0; padding-right: 0; }
}
</style>
{%- endblock extra_css -%}
"""

_EXTERNAL_REF = re.compile(
    r"""<(?:script|link|img|iframe|video|source|audio|embed)\b[^>]*?\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""",
    re.IGNORECASE)
_REQUIRE_CDN = re.compile(r"""require(?:js)?\.config\([^)]*https?://""", re.IGNORECASE | re.DOTALL)


def find_external_references(page: str) -> list[str]:
    """Snippets of ``page`` that would make a browser fetch something from the network.

    Looks for ``src``/``href`` attributes of script, link, img, iframe, media
    tags pointing at ``http(s)://`` or ``//`` URLs, and require.js configs
    with remote paths. URLs merely mentioned inside inlined JavaScript (the
    plotly.js bundle names map-tile servers it never contacts unless a map
    is drawn) are not references.
    """
    hits = [page[m.start():m.end() + 60] for m in _EXTERNAL_REF.finditer(page)]
    hits += [page[m.start():m.start() + 120] for m in _REQUIRE_CDN.finditer(page)]
    return hits


def export_html(notebook, *, title: str | None = None) -> str:
    """One self-contained HTML page from an executed notebook (code cells hidden).

    Parameters
    ----------
    notebook : nbformat.NotebookNode or path
    title : str, optional
        Page title.

    Raises
    ------
    LabError
        If the page would still reference a remote resource.
    """
    import jinja2
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook), as_version=4) if isinstance(notebook, (str, Path)) else notebook
    nb = _strip_remote_mathjax(nb)
    nb.metadata.pop("widgets", None)  # widget state needs the CDN widget manager
    if title:
        nb.metadata["title"] = title
    from nbconvert.preprocessors import TagRemovePreprocessor

    # cells tagged "remove-output" hold live widgets: they need a kernel, so the page leaves them out
    nb, _ = TagRemovePreprocessor(remove_all_outputs_tags={"remove-output"}, enabled=True).preprocess(nb, {})
    exporter = HTMLExporter(template_name="lab", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True,
                            extra_loaders=[jinja2.DictLoader({"lab_report.html.j2": TEMPLATE})],
                            template_file="lab_report.html.j2")
    body, _resources = exporter.from_notebook_node(nb)
    body = neutralize_bundled_urls(body)
    bad = find_external_references(body)
    if bad:
        raise LabError(f"report HTML would load remote resources: {bad[0][:100]}", exit_code=1)
    return body


_BUNDLED_CDN_URL = re.compile(r"""https?://[A-Za-z0-9.-]*cdn[A-Za-z0-9.-]*(?:/[^"'`\s)<>]*)?""", re.IGNORECASE)


def neutralize_bundled_urls(page: str) -> str:
    """Replace CDN URLs written inside inlined libraries with an inert ``about:blank#offline``.

    The inlined plotly.js names map-style, tile and icon servers (cartocdn,
    jsdelivr, cdn.plot.ly topojson) that it would contact only to draw a map;
    the report draws none. Rewriting them makes the page carry no CDN
    reference at all, so it cannot reach one even if a future figure asked.
    """
    return _BUNDLED_CDN_URL.sub("about:blank#offline", page)


_MATHJAX_TAG = re.compile(r"""<script\s+src=["']https?://[^"']*mathjax[^"']*["']\s*>\s*</script>""", re.IGNORECASE)


def _strip_remote_mathjax(nb):
    """Drop the MathJax CDN ``<script>`` plotly's notebook renderer puts before every figure.

    The figures have no LaTeX, so nothing is lost; the page then loads nothing remote.
    """
    import copy

    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "text/html" in data:
                text = data["text/html"]
                text = "".join(text) if isinstance(text, list) else text
                data["text/html"] = _MATHJAX_TAG.sub("", text)
    return nb


def make_shareable(path: str | Path) -> Path:
    """Give a written output the usual read permissions (temporary files are created 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)
    return Path(path)
