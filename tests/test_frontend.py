"""The chat page's files as shipped: the web/ folder holds ES modules that import each other by
relative path and share nothing through globals, and the app serves exactly the files it lists.

(The page's behaviour in a browser: tests/test_browser.py; the page in an installed wheel and an
editable install: tests/test_wheel.py.)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qa.app.page import PAGE_FILES, STATIC_DIR, page_dir

ROOT = Path(__file__).resolve().parent.parent
IMPORT = re.compile(r'^import \{([^}]*)\} from "\./([a-z]+\.js)";$', re.M)
EXPORT = re.compile(r"^export (?:async )?(?:function|const|let|class) ([A-Za-z_$][\w$]*)", re.M)
MODULES = sorted(p.name for p in STATIC_DIR.glob("*.js"))


def source(name: str) -> str:
    return (STATIC_DIR / name).read_text(encoding="utf-8")


def test_a_checkout_serves_its_own_web_folder():
    assert page_dir() == STATIC_DIR == ROOT / "web"


def test_the_app_lists_exactly_the_page_files():
    shipped = {p.name for p in STATIC_DIR.iterdir() if p.suffix in (".html", ".js", ".css", ".svg")}
    assert shipped == set(PAGE_FILES)


def test_index_loads_one_entry_module():
    tags = re.findall(r"<script[^>]*>", source("index.html"))
    assert tags == ['<script type="module" src="/static/app.js">']


@pytest.mark.parametrize("name", MODULES)
def test_modules_share_nothing_through_globals(name):
    code = re.sub(r"/\*.*?\*/", "", source(name), flags=re.S)
    assert "window.QA" not in code and not re.search(r"\bwindow\.\w+\s*=", code)
    assert '"use strict"' not in code  # modules are strict already; a leftover means a classic script


@pytest.mark.parametrize("name", MODULES)
def test_every_import_names_an_export_of_a_page_module(name):
    for names, target in IMPORT.findall(source(name)):
        assert target in PAGE_FILES, f"{name} imports {target}, which the app does not list"
        exported = set(EXPORT.findall(source(target)))
        wanted = {n.strip() for n in names.split(",") if n.strip()}
        assert wanted <= exported, f"{name} imports {wanted - exported} from {target}"


def test_every_module_is_reached_from_an_entry_module():
    reached, todo = set(), ["app.js", "upload.js"]  # the chat page's and the upload page's
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo.extend(target for _, target in IMPORT.findall(source(name)))
    assert reached == set(MODULES)
