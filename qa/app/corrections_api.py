"""``POST /api/corrections`` (editor): correct an article's headline, text, date or 版;
``DELETE /api/corrections/<id>`` (editor): undo it; ``GET /api/corrections`` (readers): a page's
corrections with the original values (``qa.admin.corrections``, ``qa.store.overlay``).

A correction is written to the index's overlay and the page's folder (or JSONL file) is indexed
again through the upload job queue, so it is published like an upload. Citations of corrected
articles, as they now stand, get ``"corrected": true`` in answers (``POST /api/ask``,
``/api/ask/stream``), which the chat page shows as 「已校对」 (``app.extensions["qa_mark_citations"]``,
called by ``qa.app.chat``).
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, current_app, jsonify, request

from qa.admin.corrections import Corrections, is_current, parse_correction
from qa.app.auth import actor, require
from qa.app.body import get_service, read_json_object
from qa.app.jobs import Job
from qa.errors import NotFound, StorageError
from qa.request import parse_day, parse_page, parse_paper
from qa.store.overlay import fingerprint

bp = Blueprint("corrections", __name__, url_prefix="/api")
log = logging.getLogger("qa.app")
WAIT_S = 600


def _store() -> Corrections:
    return current_app.extensions["qa_corrections"]


def _where(args, page_optional: bool = False) -> tuple[str, int | None, str | None]:
    """``date``, ``page`` (None allowed for a POST naming a JSONL record printed without a 版) and ``paper``."""
    page = args.get("page")
    page = int(page) if isinstance(page, str) and page.isdigit() else page
    page = None if page is None and page_optional else parse_page(page)
    return parse_day(args.get("date"), "date"), page, parse_paper(args.get("paper") or None)


def _change(apply) -> tuple[dict, Job]:
    """Run ``apply(before_save)`` (a correct or a revert) and start the page's re-index job.

    The job is written to the jobs table in ``before_save``, before the overlay changes: a server
    that dies between the overlay write and the build resumes the job on restart (``qa.app.jobs``),
    so a saved correction is never left unindexed."""
    jobs = current_app.extensions["qa_jobs"]
    reserved: list[Job] = []
    try:
        entry = apply(lambda e: reserved.append(jobs.reserve(actor(), [_store().target(e)], [])))
    except Exception:
        for job in reserved:
            jobs.fail(job, "校对没有保存，无需重新索引。")
        raise
    jobs.start(reserved[0])
    return entry, reserved[0]


def _publish(entry: dict, job: Job, action: str) -> dict:
    """Audit, wait for the page's re-index job, answer the job with the entry."""
    current_app.extensions["qa_accounts"].audit(
        actor(),
        action,
        entry["article_id"],
        {
            "correction": entry["id"],
            "page": entry["where"]["source"],
            "ordinal": entry["ordinal"],
            "original": entry["original"],
            "corrected": entry["corrected"],
        },
    )
    job.finished.wait(WAIT_S)
    out = {**job.to_json(), "correction": _public(entry)}
    # the article as it now stands: its id may differ (ids name the file as its folder was indexed)
    c, o = entry["corrected"], entry["original"]
    if action == "article.revert":
        date, page, fp = o["date"], o["page"], entry["fingerprint"]
    else:
        date, page, fp = c.get("date", o["date"]), c.get("page", o["page"]), entry["after"]
    found = get_service().reader.page(date, page, paper=entry["where"]["paper"]) if page else None
    now = {fingerprint(a["title"], a["body"]): a for a in (found or {}).get("articles", [])}
    out["article"] = now.get(fp)
    return out


@bp.post("/corrections")
@require("editor")
def correct():
    body = read_json_object()
    changes = parse_correction(body)
    date, page, paper = _where(body, page_optional=True)
    live = get_service().reader.articles_by_id([body["article_id"]])
    row = live.get(body["article_id"])
    if row is None or row["date"] != date or row["page"] != page or (paper and row["paper"] != paper):
        raise NotFound("这一版中没有这篇文章（article_id 不对，或索引已更新）：请刷新后重试。")
    entry, job = _change(lambda reserve: _store().correct(row, body["article_id"], changes, actor(), reserve))
    return jsonify(_publish(entry, job, "article.correct")), 200


@bp.delete("/corrections/<correction_id>")
@require("editor")
def revert(correction_id: str):
    """Undo a correction: the article reads as printed again (the overlay entry is removed)."""
    entry, job = _change(lambda reserve: _store().revert(correction_id, actor(), reserve))
    return jsonify(_publish(entry, job, "article.revert")), 200


@bp.get("/corrections")
def of_page():
    """The active corrections of one page (``?date=&page=&paper=``), each with original and corrected
    values and the article's id in the live index (``null`` until its job has published)."""
    date, page, paper = _where(request.args)
    found = get_service().reader.page(date, page, paper=paper)
    now = {fingerprint(a["title"], a["body"]): a["article_id"] for a in (found or {}).get("articles", [])}
    out = []
    for e in _store().of_page(date, page, paper or (found or {}).get("paper")):
        out.append({**_public(e), "article_id": now.get(e["after"])})
    if found is None and not out:
        raise NotFound(f"档案中没有 {date} 第{page}版。")
    return jsonify({"corrections": out})


def _readable(store: Corrections) -> list[dict]:
    """The active corrections, or none when the overlay cannot be read: answers never fail for a mark."""
    try:
        return store.entries()
    except StorageError as exc:
        log.error("%s", exc)
        return []


def _now_at(e: dict) -> tuple:
    """(paper, date, 版) where the corrected article now stands."""
    c, o = e["corrected"], e["original"]
    return e["where"]["paper"], c.get("date", o["date"]), c.get("page", o["page"])


def _public(e: dict) -> dict:
    """An overlay entry as clients see it (no server paths)."""
    return {
        "id": e["id"],
        "article_id": e["article_id"],
        "paper": e["where"]["paper"],
        "source": e["where"]["source"],
        "original": e["original"],
        "corrected": e["corrected"],
        "user": e["user"],
        "at": e["at"],
    }


def register_corrections(app: Flask, settings) -> None:
    store = app.extensions["qa_corrections"] = Corrections(settings.data_dir, settings.location)

    def mark(data: dict) -> dict:
        """Answer events (``/api/ask``, ``/api/ask/stream``): citations of corrected articles get ``corrected``."""
        passages = data.get("passages")
        entries = _readable(store) if passages else []
        if not entries:
            return data
        reader = app.extensions["qa_service"].reader
        ids = [(p.get("citation") or {}).get("article_id") for p in passages if isinstance(p, dict)]
        live = reader.articles_by_id([i for i in ids if i])
        done = {aid for aid, row in live.items() if any(is_current(e, row) for e in entries)}
        marked = [
            {**p, "citation": {**p["citation"], "corrected": True}}
            if isinstance(p, dict) and (p.get("citation") or {}).get("article_id") in done
            else p
            for p in passages
        ]
        return data | {"passages": marked}

    def mark_page(found: dict) -> dict:
        """``GET /api/pages/<date>/<page>``: a corrected article (as it now stands) gets ``corrected``
        (the correction's id) and ``original`` (headline, text, date and 版 as printed)."""
        at = (found["paper"], found["date"], found["page"])
        entries = {e["after"]: e for e in _readable(store) if _now_at(e) == at}
        if not entries:
            return found
        arts = []
        for a in found["articles"]:
            e = entries.get(fingerprint(a["title"], a["body"]))
            arts.append({**a, "corrected": e["id"], "original": e["original"]} if e else a)
        return found | {"articles": arts}

    app.extensions["qa_mark_citations"] = mark
    app.extensions["qa_mark_page"] = mark_page
    limiter = app.extensions.get("qa_limiter")
    if limiter is not None:
        limiter.shared_limit(settings.rate_limit, scope="api")(bp)
    app.register_blueprint(bp)
