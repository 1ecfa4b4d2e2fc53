"""Routes that change the archive or collect feedback (documented in docs/operations-inbox.md):

* ``POST /api/issues`` (editor): multipart upload of an issue's page files → a job (202), or the
  finished result with ``?wait=1`` (200).
* ``GET /api/issues/<job>`` (editor): stage (queued / reading / ocr / embedding / published /
  unchanged / failed), pages read of total, and when done: articles per page, files skipped and why.
  Jobs are rows of ``DATA/qa.sqlite3`` (``qa.app.jobs``): they outlive a restart, which resumes unfinished ones.
* ``GET /api/jobs`` (editor): the newest jobs — an editor's own, everyone's for an admin.
* ``POST /api/feedback`` (anyone who may read): 👍/👎 with an optional comment.
* ``GET /api/admin/feedback`` (admin): questions sorted by worst-rated; ``GET /api/admin/audit`` (admin).
* ``GET /upload`` : the upload page (``web/upload.html``).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from flask import Blueprint, Flask, current_app, g, jsonify, request, send_from_directory
from werkzeug.exceptions import RequestEntityTooLarge

from qa.admin.feedback import FeedbackStore, parse_feedback
from qa.admin.jobstore import JobStore
from qa.app.auth import actor, check_csrf, require
from qa.app.body import no_store, read_json_object
from qa.app.jobs import Job, Jobs
from qa.app.page import STATIC_DIR
from qa.app.upload import issue_folders, plan_files, save_files
from qa.errors import BadInput, NotFound, PayloadTooLarge

log = logging.getLogger("qa.app")
bp = Blueprint("admin", __name__, url_prefix="/api")
page_bp = Blueprint("admin_page", __name__)
MB = 1024 * 1024


def _settings():
    return current_app.config["QA_SETTINGS"]


@bp.post("/issues")
@require("editor")
def upload_issue():
    s = _settings()
    request.max_content_length = s.upload_max_total  # Flask 3.1: this request only (the API keeps 64 KB)
    if request.content_length is not None and request.content_length > s.upload_max_total:
        raise PayloadTooLarge(f"上传太大：一次最多 {s.upload_max_total // MB} MB。")
    try:
        files = request.files.getlist("files") + request.files.getlist("file")
        form = request.form
        manifest = request.files.get("manifest")
    except RequestEntityTooLarge:
        raise PayloadTooLarge(f"上传太大：一次最多 {s.upload_max_total // MB} MB。") from None
    if not files:
        raise BadInput("没有收到文件：请用 multipart/form-data 的 files 字段上传版面文件。")
    planned, refused = plan_files(files, form, s.upload_max_file, manifest.read() if manifest is not None else None)
    if not planned:
        raise BadInput("没有可用的文件：" + "；".join(f"{r['file']}：{r['reason']}" for r in refused[:5]))
    # the job is written down before the files: a crash while saving leaves a job that the next start finishes
    job = _jobs().reserve(actor(), issue_folders(planned, Path(s.archive)), refused)
    try:
        folders = save_files(planned, Path(s.archive), Path(s.data_dir) / "replaced")
    except Exception as e:
        _jobs().fail(job, getattr(e, "message", None) or "保存上传的文件时出错，任务未完成：请重试。")
        raise
    _jobs().start(job)
    accounts = current_app.extensions["qa_accounts"]
    accounts.audit(
        actor(),
        "issue.upload",
        ", ".join(f.relative_to(Path(s.archive)).as_posix() for f in folders),
        {"job": job.id, "files": len(planned), "refused": refused},
    )
    if request.args.get("wait") in ("1", "true"):
        job.finished.wait(600)
        return no_store(jsonify(job.to_json())), 200
    return no_store(jsonify({**job.to_json(), "status_url": f"/api/issues/{job.id}"})), 202


@bp.get("/issues/<job_id>")
@require("editor")
def job_status(job_id: str):
    job = _jobs().get(job_id)
    if job is None:
        raise NotFound("没有这个上传任务：请检查任务编号。")
    return no_store(jsonify(job.to_json()))


@bp.get("/jobs")
@require("editor")
def recent_jobs():
    """The newest upload and correction jobs: an editor's own; an admin's view is everyone's (``?user=`` narrows)."""
    limit = min(max(request.args.get("limit", 20, type=int) or 20, 1), 100)
    who = (request.args.get("user") or None) if g.user.role == "admin" else g.user.name
    return no_store(jsonify({"jobs": [j.to_json() for j in _jobs().recent(who, limit)]}))


@bp.post("/feedback")
def feedback():
    check_csrf()  # only a logged-in browser session carries ambient authority
    entry = parse_feedback(read_json_object())
    fid = current_app.extensions["qa_feedback"].add(entry, g.user.name if g.get("user") else None)
    return no_store(jsonify({"id": fid, "rating": "up" if entry["rating"] > 0 else "down"})), 201


@bp.get("/admin/feedback")
@require("admin")
def admin_feedback():
    limit = min(max(request.args.get("limit", 100, type=int) or 100, 1), 1000)
    return no_store(jsonify({"questions": current_app.extensions["qa_feedback"].worst(limit)}))


@bp.get("/admin/audit")
@require("admin")
def admin_audit():
    return no_store(jsonify({"entries": current_app.extensions["qa_accounts"].audit_log()}))


@page_bp.get("/upload")
def upload_page():
    return send_from_directory(STATIC_DIR, "upload.html", max_age=0)  # the chat page folder (web/)


def _jobs() -> Jobs:
    return current_app.extensions["qa_jobs"]


def resolve_paths(settings):
    """``settings`` with ``data_dir`` and ``archive`` filled in (defaults: docs/operations-inbox.md)."""
    from dataclasses import replace

    from qa.admin.accounts import data_dir

    folder = Path(data_dir(settings.data_dir, settings.index))
    return replace(settings, data_dir=folder, archive=Path(settings.archive or folder / "archive"))


def start_inbox(app: Flask):
    """``qa serve --inbox DIR``: the inbox thread of this app (same index, model and hot swap)."""
    from qa.admin.inbox import Inbox
    from qa.admin.inbox import start_inbox as start

    s = app.config["QA_SETTINGS"]
    inbox = Inbox(
        Path(s.inbox),
        s.location,
        Path(s.archive),
        embedder=lambda: getattr(app.extensions.get("qa_service"), "embedder", None),
        on_published=app.extensions["qa_reloader"].check_now,
        audit=app.extensions["qa_accounts"].audit,
        poll_s=s.inbox_poll_s,
    )
    app.extensions["qa_inbox"] = inbox
    return start(inbox)


def exposed_without_accounts(app: Flask) -> str | None:
    """The warning ``qa serve`` prints when it listens beyond this machine with no account set up."""
    s = app.config["QA_SETTINGS"]
    if s.host in ("127.0.0.1", "localhost", "::1") or app.extensions["qa_accounts"].has_users():
        return None
    return (
        f"警告：服务监听 {s.host}，可从其他机器访问，但还没有任何账户——上传和修改档案的接口无人能用，"
        f"任何人都可以查阅档案。请先运行 qa user add 名字 --role admin（数据目录 {s.data_dir}）。"
    )


def register_admin(app: Flask, settings) -> None:
    """Accounts (``qa.app.auth``), jobs, feedback and these routes; called by ``create_app``."""
    from qa.app.auth import register_auth

    settings = resolve_paths(settings)
    app.config["QA_SETTINGS"] = settings
    register_auth(app, settings)
    app.extensions["qa_feedback"] = FeedbackStore(settings.data_dir)
    reloader = app.extensions["qa_reloader"]

    def embedder():  # the serving model: loaded once, shared with the builds
        return getattr(app.extensions.get("qa_service"), "embedder", None)

    def tidy(job: Job) -> None:  # unreadable files leave the archive, kept in DATA/rejected/<job>/
        from qa.admin.ingest_job import skipped_files

        for path, why in skipped_files(job.result, job.targets).items():
            if not path.resolve().is_relative_to(Path(settings.archive).resolve()):
                continue  # a correction may index a folder outside the archive: never move files there
            dst = Path(settings.data_dir) / "rejected" / job.id / path.name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, dst)
            dst.with_name(dst.name + ".why.txt").write_text(why + "\n", encoding="utf-8")

    jobs = Jobs(
        settings.location,
        embedder,
        reloader.check_now,
        JobStore(settings.data_dir),
        after=tidy,
        archive=Path(settings.archive),
    )
    app.extensions["qa_jobs"] = jobs
    try:
        jobs.resume()  # jobs a killed or restarted server left unfinished
    except Exception:  # a damaged data folder must not stop the server from answering questions
        log.exception("could not resume the unfinished ingest jobs of %s", settings.data_dir)
    limiter = app.extensions.get("qa_limiter")
    if limiter is not None:
        limiter.shared_limit(settings.rate_limit, scope="api")(bp)
    app.register_blueprint(bp)
    app.register_blueprint(page_bp)
    from qa.app.corrections_api import register_corrections

    register_corrections(app, settings)
