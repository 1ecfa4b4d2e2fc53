"""``POST /api/corrections`` (editor) and ``GET /api/corrections`` (readers): fix an article's headline
or text, keep the original, publish like an upload; answers mark corrected articles (``qa.admin.corrections``).

Citations of corrected articles in answers (``POST /api/ask``, ``/api/ask/stream``) get
``"corrected": true``, which the chat page shows as 「已校对」 (``app.extensions["qa_mark_citations"]``,
called by ``qa.app.chat``).
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, current_app, jsonify, request

from qa.admin.corrections import Corrections, parse_correction
from qa.app.auth import actor, require
from qa.app.body import get_service, read_json_object
from qa.errors import NotCorrectable, NotFound
from qa.request import parse_day, parse_page

bp = Blueprint("corrections", __name__, url_prefix="/api")


def _store() -> Corrections:
    return current_app.extensions["qa_corrections"]


def _page(args):
    """The live page named by ``date``, ``page`` and optional ``paper`` in ``args`` (JSON body or query)."""
    date = parse_day(args.get("date"), "date")
    page_no = parse_page(int(args["page"]) if str(args.get("page", "")).isdigit() else args.get("page"))
    reader = get_service().reader  # one version for the whole request
    found = reader.page(date, page_no, paper=args.get("paper") or None)
    if found is None:
        raise NotFound(f"档案中没有 {date} 第{page_no}版。")
    found["file"] = reader.page_files(date, page_no, paper=args.get("paper") or None)[0]  # server side only
    return found


@bp.post("/corrections")
@require("editor")
def correct():
    body = read_json_object()
    changes = parse_correction(body)
    found = _page(body)
    article = next((a for a in found["articles"] if a["article_id"] == body["article_id"]), None)
    if article is None:
        raise NotCorrectable("这一版中没有这篇文章（article_id 不对，或索引已更新）：请刷新后重试。")
    s = current_app.config["QA_SETTINGS"]
    folder = _store().apply(Path(found["file"]), article, changes, actor(), Path(s.archive))
    current_app.extensions["qa_accounts"].audit(actor(), "article.correct", body["article_id"], changes)
    job = current_app.extensions["qa_jobs"].submit(actor(), [folder], [])
    job.finished.wait(600)
    return jsonify({**job.to_json(), "article_id": body["article_id"], "corrected": changes}), 200


@bp.get("/corrections")
def history():
    """The corrections of one page (``?date=&page=&paper=``), each with the original title and text."""
    found = _page(request.args)
    s = current_app.config["QA_SETTINGS"]
    src = Path(found["file"]).resolve()
    archive = Path(s.archive).resolve()
    rel = src.relative_to(archive).as_posix() if src.is_relative_to(archive) else None
    return jsonify({"corrections": _store().history(rel) if rel else []})


def register_corrections(app: Flask, settings) -> None:
    app.extensions["qa_corrections"] = Corrections(settings.data_dir)

    def mark(data: dict) -> dict:
        """Answer events (``/api/ask``, ``/api/ask/stream``): citations of corrected articles get ``corrected``."""
        passages = data.get("passages")
        if not passages:
            return data
        ids = {r["article_id"] for r in app.extensions["qa_corrections"].history()}
        if not ids:
            return data
        marked = [
            {**p, "citation": {**p["citation"], "corrected": True}}
            if isinstance(p, dict) and (p.get("citation") or {}).get("article_id") in ids
            else p
            for p in passages
        ]
        return data | {"passages": marked}

    app.extensions["qa_mark_citations"] = mark
    limiter = app.extensions.get("qa_limiter")
    if limiter is not None:
        limiter.shared_limit(settings.rate_limit, scope="api")(bp)
    app.register_blueprint(bp)
