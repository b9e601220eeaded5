"""Sphinx configuration of the course's website (``make site``).

The pages themselves are not kept here: ``fmnist_helpers/course/website.py`` writes them from the
committed notebooks and the README into ``build/site-src/<edition>/`` and builds that folder with
this configuration. The notebooks are rendered with their committed outputs and never executed.
"""

from __future__ import annotations

from typing import Any

project = "PyTorch on Fashion-MNIST"
author = "the course's authors"
copyright = "the course's authors; the lessons follow deeplizard's series"

extensions = [
    "myst_nb",  # notebooks (.ipynb) and MyST Markdown pages
    "sphinx-mathjax-offline",  # MathJax 3 copied into _static/: math without a CDN
]

# The notebooks are shown as committed: never executed (the default "auto" would run every notebook
# that has a cell without outputs, which is all of them).
nb_execution_mode = "off"
nb_merge_streams = True  # consecutive prints read as one block, as in JupyterLab
nb_ipywidgets_js: dict[str, Any] = {}  # no require.js from a CDN (the notebooks keep no widgets)
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
# Notebook prose may skip a heading level; the exercise checks also display their results as
# application/vnd.fmnist-course.check+json, which a page shows through its text/plain twin.
suppress_warnings = ["myst.header", "mystnb.unknown_mime_type"]

exclude_patterns = ["downloads/**", "**.ipynb_checkpoints"]
templates_path = ["_templates"]
html_static_path = ["_static"]
html_css_files = ["fmnist.css"]
html_theme = "sphinx_book_theme"
html_copy_source = False  # each notebook has its own download link
html_show_sourcelink = False
html_last_updated_fmt = None
html_context = {"default_mode": "light"}  # the reader's button switches to dark or auto
html_theme_options: dict[str, Any] = {
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    "use_download_button": False,
    "use_fullscreen_button": True,
    "navigation_with_keys": False,
    "navbar_persistent": [],  # the sidebar has the search field; no second one in a top bar
    "footer_content_items": ["credits-footer.html"],  # deeplizard's credit, on every page
}

EDITIONS = {
    "student": ("student edition", ""),
    "instructor": ("instructor edition",
                   "Instructor edition: it shows the exercises' answers. Students get the student "
                   "edition (<code>make site</code>)."),
}


def _apply_edition(app: Any, config: Any) -> None:
    """Title and banner of the edition named by ``fmnist_edition`` (``-D fmnist_edition=...``)."""
    if config.fmnist_edition not in EDITIONS:
        raise ValueError(f"fmnist_edition must be one of {sorted(EDITIONS)}, not {config.fmnist_edition!r}")
    label, banner = EDITIONS[config.fmnist_edition]
    config.html_title = f"{project} · {label}"
    config.html_theme_options = {**config.html_theme_options, "announcement": banner}


def setup(app: Any) -> dict[str, Any]:
    """Register ``fmnist_edition`` (student or instructor) and apply it once the config is read."""
    app.add_config_value("fmnist_edition", "student", "html", types=[str])
    app.connect("config-inited", _apply_edition)
    return {"parallel_read_safe": True}
