"""The chat page (HTML, ES modules, CSS, icon), installed as the package ``qa_web``.

Nothing to import: the files here are package data, found by ``qa.web.app.page_dir()`` through
``importlib.resources`` and served under ``/`` and ``/static/``. See docs/frontend.md.
"""
