"""The ``qa`` command: index an archive, ask it questions, serve the chat page, measure quality.

Library errors (``qa.errors.QAError``) become one plain Chinese sentence on stderr and exit
status 1; stdout carries only results (with ``--json``, only the JSON).
"""

from __future__ import annotations

import json
import sys
from functools import wraps
from pathlib import Path

import click

from qa.config import DEFAULT_TOP_K, MAX_TOP_K, Settings, index_dir
from qa.errors import QAError

INDEX_OPTION = click.option(
    "--index", "index", type=click.Path(file_okay=False), default=None,
    help="Index folder (default: $QA_INDEX or ./index).",
)


def friendly_errors(func):
    """Turn QAError into ``错误：…`` on stderr and exit 1 instead of a traceback."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except QAError as e:
            click.echo(f"错误：{e.message}", err=True)
            sys.exit(1)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="qa-newspaper")
def cli() -> None:
    """Question answering over a Chinese newspaper archive, citing date, page (版) and headline.

    \b
    Quick start:
      qa index seeds/
      qa ask "2025年聊城新增省级以上专精特新中小企业多少家？"
      qa serve            # chat page at http://127.0.0.1:8000/
    """


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@INDEX_OPTION
def inspect(paths: tuple[str, ...], index: str | None) -> None:
    """Show how each page in PATHS was read, its articles, and every file skipped with its reason.

    Scanned pages are OCR'd through the index's OCR cache (INDEX/cache/ocr), so pages
    already indexed are not read again.

    \b
    Examples:
      qa inspect seeds/
      qa inspect archive/聊城日报/2026-04-02
      qa inspect exports/cms.jsonl
    """
    from qa.pages import read_archive
    from qa.pages.report import format_inspect

    folder = index_dir(index)
    report = read_archive(list(paths), ocr_cache=folder / "cache" / "ocr" if folder.is_dir() else None)
    click.echo(format_inspect(report))
    sys.exit(2 if report.skipped else 0)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@INDEX_OPTION
@click.option("--rebuild", is_flag=True, help="Start over from PATHS only, re-embedding everything.")
@click.option("--model", default=None, help="Embedder: e5-small (bundled, default) or st:NAME_OR_PATH.")
@friendly_errors
def index(paths: tuple[str, ...], index: str | None, rebuild: bool, model: str | None) -> None:
    """Add PATHS to the index and publish a new version atomically.

    A PATH is a folder (issue folders or a folder with manifest.csv) or a .jsonl export.
    Unchanged pages re-embed nothing; pages whose files are gone from under a PATH are
    dropped. Exit status 0: all files indexed; 2: some files skipped (named on stderr).

    \b
    Examples:
      qa index seeds/
      qa index archive/聊城日报/2026-04-02        # add one new issue
      qa index archive/ --rebuild
      qa index archive/ --model st:/models/bge-small-zh-v1.5
    """
    from qa.index import build_index

    report = build_index(list(paths), index_dir(index), rebuild=rebuild, model=model)
    for s in report.skipped:
        click.echo(f"跳过 {s}", err=True)
    if report.skipped:
        click.echo(f"{len(report.skipped)} 个文件被跳过。", err=True)
        sys.exit(2)


@cli.command()
@click.argument("question")
@INDEX_OPTION
@click.option("--top-k", type=click.IntRange(1, MAX_TOP_K), default=DEFAULT_TOP_K, show_default=True)
@click.option("--from", "date_from", default=None, help="Earliest issue date, YYYY-MM-DD.")
@click.option("--to", "date_to", default=None, help="Latest issue date, YYYY-MM-DD.")
@click.option("--paper", default=None, help="Only this paper.")
@click.option("--page", type=click.IntRange(min=1), default=None, help="Only this page (版).")
@click.option("--today", is_flag=True, help="Resolve 「去年」「上个月」 against today, not the newest issue.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON object of /api/ask.")
@friendly_errors
def ask(question, index, top_k, date_from, date_to, paper, page, today, as_json) -> None:
    """Answer QUESTION from the archive, with numbered sources.

    \b
    Examples:
      qa ask "2025年聊城新增省级以上专精特新中小企业多少家？"
      qa ask "去年7月，习近平对什么工作作出重要指示？" --json
      qa ask "防汛" --from 2025-07-01 --to 2025-07-31 --page 1
    """
    from qa.service import Service

    service = Service(index_dir(index), reference_date="today" if today else None)
    answer = service.ask(question, top_k, date_from, date_to, paper, page)
    if as_json:
        click.echo(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
        return
    click.echo(answer.answer)
    if answer.passages:
        click.echo("\n来源：" if answer.found else "\n相关线索：")
        for n, hit in enumerate(answer.passages, start=1):
            click.echo(f"[{n}] {hit.citation.label()}")


@cli.command()
@INDEX_OPTION
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int, help="Worker threads.")
@click.option("--rate-limit", default="60 per minute", show_default=True, help="Per-client limit on /api/* (e.g. \"120 per minute\"; \"off\" disables).")
@friendly_errors
def serve(index, host, port, threads, rate_limit) -> None:
    """Serve the chat page and the JSON API; switches to a newly published index by itself.

    \b
    Examples:
      qa serve
      qa serve --index /srv/qa/index --host 0.0.0.0 --port 8080 --threads 16
    """
    from qa.serve import serve as run_server

    run_server(Settings(index=index_dir(index), host=host, port=port, threads=threads, rate_limit=rate_limit))


STATS_LABELS = {
    "version": "索引版本", "built_at": "建立时间", "papers": "报纸", "first_issue": "最早一期",
    "last_issue": "最新一期", "issues": "期数", "pages": "版数", "articles": "文章", "chunks": "段落",
    "embedder": "向量模型", "dim": "向量维度", "vector_index": "向量索引", "chunking": "分块设置",
    "size_bytes": "占用空间（字节）",
}


@cli.command()
@INDEX_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@friendly_errors
def stats(index, as_json) -> None:
    """Papers, issue dates, counts, embedder and size of the live index.

    \b
    Examples:
      qa stats
      qa stats --index /srv/qa/index --json
    """
    from qa.index import index_stats

    info = index_stats(index_dir(index))
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False, indent=2))
        return
    for key, value in info.items():
        if isinstance(value, list):
            value = "、".join(map(str, value))
        click.echo(f"{STATS_LABELS.get(key, key)}：{value}")


@cli.command(name="eval")
@click.argument("question_file", type=click.Path(exists=True, dir_okay=False))
@INDEX_OPTION
@click.option("--limit", type=int, default=None, help="Only the first N questions.")
@click.option("--json-out", type=click.Path(dir_okay=False), default=None, help="Also write the figures as JSON.")
@friendly_errors
def eval_cmd(question_file, index, limit, json_out) -> None:
    """Measure retrieval and answer quality on a question file.

    The file is CMRC-style JSON ({"data": [{"paragraphs": [{"id", "qas": [...]}]}]}) or
    JSONL of {"question", "answers": [...], "article_id"?}. Prints recall@1/5/20, MRR@10
    (gold article among the cited ones), answer-hit, found-rate and latency p50/p95.

    \b
    Examples:
      qa eval my_questions.jsonl
      qa eval ../shared/data/cmrc2018_trial.json --index /tmp/cmrc-index --json-out eval.json
    """
    from qa.evaluate import evaluate, format_table, load_questions
    from qa.service import Service

    service = Service(index_dir(index))
    questions = load_questions(Path(question_file))[:limit]
    result = evaluate(service, questions, progress=sys.stderr.isatty())
    click.echo(format_table({"qa": result}))
    if json_out:
        Path(json_out).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")


def main() -> None:
    cli(prog_name="qa")


if __name__ == "__main__":
    main()
