"""The chat page's files: where they are (the checkout's ``web/``, or the installed ``qa_web``) and
which they are. Served by ``qa.app.app`` (``/``, ``/static/…``) and ``qa.app.admin_api`` (``/upload``)."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import qa

PAGE_FILES = (
    "index.html",
    "app.js",
    "answer.js",
    "citation.js",
    "dom.js",
    "feedback.js",
    "highlight.js",
    "stream.js",
    "timeline.js",
    "wholepage.js",
    "pageimage.js",
    "viewer.js",
    "zoom.js",
    "clipping.js",
    "correct.js",
    "style.css",
    "favicon.svg",
    "upload.html",
    "upload.js",
    "admin.css",
)


def page_dir() -> Path:
    """The chat page folder: ``web/`` of the source checkout this ``qa`` package belongs to (run from
    the checkout, or an editable install), else the installed package ``qa_web`` (a wheel). The
    checkout comes first so a checkout run with ``PYTHONPATH`` serves its own page, never another
    install's. A missing ``qa_web`` (broken install) gives a path without files: ``/`` then answers
    ``page_missing``."""
    checkout = Path(qa.__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "web" / "index.html").is_file():
        return checkout / "web"
    try:
        return Path(str(importlib.resources.files("qa_web")))
    except ModuleNotFoundError:
        return checkout / "qa_web"


STATIC_DIR = page_dir()


def missing_page_files(static_dir: Path) -> list[str]:
    """Names of the chat page files absent from ``static_dir`` (empty when the install is whole)."""
    return [name for name in PAGE_FILES if not (static_dir / name).is_file()]
