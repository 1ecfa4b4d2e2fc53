"""The ``qa`` command: index an archive, ask it questions, serve the chat page, measure quality.

Library errors (``qa.errors.QAError``) become one plain Chinese sentence on stderr and exit
status 1; stdout carries only results (with ``--json``, only the JSON).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from qa.cli.admin import register as register_admin
from qa.cli.common import (
    BACKEND_OPTION,
    INDEX_OPTION,
    Group,
    IntRangeZh,
    friendly_errors,
    index_location,
    valid_text,
)
from qa.cli.serve import serve
from qa.config import DEFAULT_TOP_K, MAX_TOP_K, index_dir
from qa.errors import BadInput


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="qa-newspaper", message="%(prog)s %(version)s", help="显示版本并退出。")
def cli() -> None:
    """报纸档案问答：回答注明报名、日期、版次和标题。

    \b
    快速上手：
      qa index seeds/
      qa ask "2025年聊城新增省级以上专精特新中小企业多少家？"
      qa serve            # 问答页面：http://127.0.0.1:8000/
    """


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@INDEX_OPTION
def inspect(paths: tuple[str, ...], index: str | None) -> None:
    """列出 PATHS 中每一版是怎样读出的（文本文件 / PDF 文字层 / OCR）、其中的文章，以及每个被跳过的文件和原因。

    扫描版经 OCR 读出，结果缓存在索引的 INDEX/cache/ocr 中，已索引过的版面不会再识别一次。

    \b
    示例：
      qa inspect seeds/
      qa inspect archive/聊城日报/2026-04-02
      qa inspect exports/cms.jsonl
    """
    from qa.ingest import read_archive
    from qa.ingest.report import format_inspect
    from qa.store.location import ocr_cache

    folder = index_dir(index)
    report = read_archive(list(paths), ocr_cache=ocr_cache(folder) if folder.is_dir() else None)
    click.echo(format_inspect(report))
    sys.exit(2 if report.skipped else 0)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@INDEX_OPTION
@BACKEND_OPTION
@click.option(
    "--rebuild",
    is_flag=True,
    help="只用 PATHS 从头重建（向量取自 index/cache/vectors；删除该文件夹可强制重新向量化）。",
)
@click.option("--model", default=None, help="向量模型：e5-small（内置，默认）或 st:模型名或路径。")
@click.option(
    "--device", default=None, help="向量模型运行的设备：auto（有 GPU 就用，默认）、cpu、cuda、cuda:1（同 QA_DEVICE）。"
)
@click.option(
    "--no-merge", is_flag=True, help="本次连自己写出的分段也不合并（默认只合并本次写出的分段，从不改写已有分段）。"
)
@click.option(
    "--merge-all", is_flag=True, help="本次也合并已有分段中写满的层级（旧的做法：加入新一期的耗时会包含合并）。"
)
@friendly_errors
def index(
    paths: tuple[str, ...],
    index: str | None,
    backend: str | None,
    rebuild: bool,
    model: str | None,
    device: str | None,
    no_merge: bool,
    merge_all: bool,
) -> None:
    """把 PATHS 加入索引，并原子地发布新版本。

    PATH 是文件夹（按期存放的版面，或带 manifest.csv 的文件夹）或 .jsonl 导出文件。
    未变的版面不重新向量化；PATH 下已删除的文件从索引中移除。已有分段从不在这里改写：
    写满的层级由 qa merge 或 qa serve 在后台合并，所以每天加入一期的耗时只取决于这一期。退出码 0：全部索引；
    2：有文件被跳过（在 stderr 列出）；1：出错或没有读到任何版面（不发布新版本）。

    \b
    示例：
      qa index seeds/
      qa index archive/聊城日报/2026-04-02        # 加入新的一期
      qa index archive/ --rebuild
      qa index archive/ --model st:/models/bge-small-zh-v1.5
      qa index archive/ --device cuda              # 在 GPU 上向量化（需要 PyTorch 的 CUDA 版）
      qa index archive/ --backend http://127.0.0.1:19530
      qa merge                                     # 合并写满的分段层级（qa serve 也会在后台做）
    """
    from qa.store import build_index

    if device:  # checked before any page is read
        from qa.embed import check_device

        device = check_device(device)
    if (no_merge or merge_all) and backend:
        raise BadInput("--no-merge 和 --merge-all 只用于索引文件夹：Milvus 自己合并分段。")
    if no_merge and merge_all:
        raise BadInput("--no-merge 与 --merge-all 不能同时使用。")
    report = build_index(
        list(paths),
        index_location(index, backend),
        rebuild=rebuild,
        model=model,
        device=device,
        **({} if backend else {"merge": "none" if no_merge else "all" if merge_all else "new"}),
    )
    for s in report.skipped:
        click.echo(f"跳过 {s}", err=True)
    if report.nothing_read:
        click.echo("错误：没有从给出的路径读到任何版面，未发布新的索引版本。请检查路径是否正确。", err=True)
        sys.exit(1)
    if report.skipped:
        click.echo(f"{len(report.skipped)} 个文件被跳过。", err=True)
        sys.exit(2)


@cli.command()
@INDEX_OPTION
@click.option(
    "--all", "everything", is_flag=True, help="把全部分段合并为一个（大批回填之后运行一次，提问最快；重写整个索引）。"
)
@friendly_errors
def merge(index: str | None, everything: bool) -> None:
    """合并索引中写满的分段层级，并原子地发布新版本（服务不中断，合并期间照常回答）。

    合并期间照常可以加入新一期（qa index 不必等它），发布时两者的分段都保留。
    qa serve 会在后台自动合并（--merge-interval），也可以在夜间运行一次 qa merge。

    \b
    示例：
      qa merge --index /srv/archive-index
      qa merge --all --index /srv/archive-index    # 回填几十年旧报之后：合并为一个分段
    """
    from qa.store import merge_index

    merge_index(index_dir(index), everything=everything)


@cli.command()
@click.argument("question")
@INDEX_OPTION
@BACKEND_OPTION
@click.option("--top-k", type=IntRangeZh(1, MAX_TOP_K), default=DEFAULT_TOP_K, show_default=True)
@click.option("--from", "date_from", default=None, help="最早的出版日期，YYYY-MM-DD。")
@click.option("--to", "date_to", default=None, help="最晚的出版日期，YYYY-MM-DD。")
@click.option("--paper", default=None, help="只查这份报纸。")
@click.option("--page", type=IntRangeZh(min=1), default=None, help="只查这一版。")
@click.option(
    "--as-of",
    "as_of",
    default=None,
    metavar="DATE",
    help="「去年」「上周」「五年前」按这一天计算（YYYY-MM-DD 或 today；默认：最新一期）。",
)
@click.option("--today", is_flag=True, help="等同 --as-of today。")
@click.option("--json", "as_json", is_flag=True, help="输出与 /api/ask 相同的 JSON。")
@friendly_errors
def ask(question, index, backend, top_k, date_from, date_to, paper, page, as_of, today, as_json) -> None:
    """从档案中回答 QUESTION，并列出编号的出处。

    \b
    示例：
      qa ask "2025年聊城新增省级以上专精特新中小企业多少家？"
      qa ask "去年7月，习近平对什么工作作出重要指示？" --json
      qa ask "去年上半年市属企业资产总额达到多少？" --as-of 2026-03-01
      qa ask "防汛" --from 2025-07-01 --to 2025-07-31 --page 1
    """
    from qa.request import parse_ask
    from qa.service import Service

    question, paper = valid_text(question, "问题"), valid_text(paper, "--paper ")
    req = parse_ask(
        {
            "question": question,
            "top_k": top_k,
            "date_from": date_from,
            "date_to": date_to,
            "paper": paper,
            "page": page,
            "as_of": as_of or ("today" if today else None),
        }
    )
    service = Service(index_location(index, backend))
    answer = service.ask(req.question, req.top_k, req.date_from, req.date_to, req.paper, req.page, as_of=req.as_of)
    if as_json:
        click.echo(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
        return
    click.echo(answer.answer)
    if answer.passages:
        click.echo("\n来源：" if answer.found else "\n相关线索：")
        for n, hit in enumerate(answer.passages, start=1):
            click.echo(f"[{n}] {hit.citation.label()}")


STATS_LABELS = {
    "version": "索引版本",
    "built_at": "建立时间",
    "papers": "报纸",
    "first_issue": "最早一期",
    "last_issue": "最新一期",
    "issues": "期数",
    "pages": "版数",
    "articles": "文章",
    "chunks": "段落",
    "embedder": "向量模型",
    "dim": "向量维度",
    "vector_index": "向量索引",
    "chunking": "分块设置",
    "segments": "分段数",
    "size_bytes": "占用空间（字节）",
}


@cli.command()
@INDEX_OPTION
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出。")
@friendly_errors
def stats(index, as_json) -> None:
    """当前索引的报纸、出版日期、数量、向量模型和占用空间。

    \b
    示例：
      qa stats
      qa stats --index /srv/qa/index --json
    """
    from qa.store import index_stats

    info = index_stats(index_dir(index))
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False, indent=2))
        return
    for key, value in info.items():
        if isinstance(value, list):
            value = "、".join(map(str, value)) or "（无）"
        elif value is None:
            value = "（无）"
        click.echo(f"{STATS_LABELS.get(key, key)}：{value}")


@cli.command(name="eval")
@click.argument("question_file", type=click.Path(exists=True, dir_okay=False))
@INDEX_OPTION
@click.option("--limit", type=IntRangeZh(min=1), default=None, help="只用前 N 个问题。")
@click.option("--json-out", type=click.Path(dir_okay=False), default=None, help="同时把结果写成 JSON 文件。")
@friendly_errors
def eval_cmd(question_file, index, limit, json_out) -> None:
    """用问题文件评测检索和回答质量。

    文件为 CMRC 格式的 JSON（{"data": [{"paragraphs": [{"id", "qas": [...]}]}]}），或每行
    {"question", "answers": [...], "article_id"?} 的 JSONL。输出 recall@1/5/20、MRR@10
    （标准文章是否在引用中）、answer-hit、found-rate 和延迟 p50/p95。

    \b
    示例：
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


cli.add_command(serve)  # qa/cli/serve.py
register_admin(cli)  # qa user / token / watch / feedback (qa/cli/admin.py)


def main() -> None:
    cli(prog_name="qa")


if __name__ == "__main__":
    main()
