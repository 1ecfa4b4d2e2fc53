"""What every ``qa`` command shares: the index/backend options, one Chinese sentence per error
(``friendly_errors``), the group class, and click parameter types that speak Chinese."""

from __future__ import annotations

import sys
from functools import wraps

import click

from qa.config import index_dir
from qa.errors import BadInput, QAError, outside_error

INDEX_OPTION = click.option(
    "--index",
    "index",
    type=click.Path(file_okay=False),
    default=None,
    help="索引文件夹（默认：$QA_INDEX 或 ./index）。",
)


BACKEND_OPTION = click.option(
    "--backend",
    "backend",
    default=None,
    metavar="URI",
    help="改用 Milvus：Milvus Lite 数据库文件（如 ./milvus.db）或服务地址（如 http://127.0.0.1:19530）。",
)


def index_location(index: str | None, backend: str | None):
    """``--backend URI`` (a Milvus target) when given, else the index folder of ``--index``."""
    if backend is None:
        return index_dir(index)
    from qa.store.location import parse_backend

    if index is not None:
        raise BadInput("--index 和 --backend 只能选一个：--index 是内置索引的文件夹，--backend 是 Milvus。")
    return parse_backend(backend)


class ChineseHelpFormatter(click.HelpFormatter):
    """Click's help text with Chinese headings, like every other message of the program."""

    HEADINGS = {"Options": "选项", "Commands": "命令", "Arguments": "参数"}

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, prefix="用法：")

    def write_heading(self, heading: str) -> None:
        super().write_heading(self.HEADINGS.get(heading, heading))


class ChineseHelpOption:
    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = "显示帮助并退出。"
        return option


class Command(ChineseHelpOption, click.Command):
    pass


class Group(ChineseHelpOption, click.Group):
    command_class = Command


click.Context.formatter_class = ChineseHelpFormatter


def friendly_errors(func):
    """Turn QAError, a full disk, an unreadable file or a Milvus refusal into ``错误：…`` on stderr and exit 1,
    not a traceback."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except QAError as e:
            click.echo(f"错误：{e.message}", err=True)
            sys.exit(1)
        except Exception as e:
            if (err := outside_error(e)) is None:
                raise
            click.echo(f"错误：{err.message}", err=True)
            sys.exit(1)

    return wrapper


def valid_text(value: str | None, name: str) -> str | None:
    """``value`` unchanged, or BadInput when the shell passed bytes that are not UTF-8 (they arrive as
    lone surrogates and would fail deep inside the search)."""
    if value is not None:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise BadInput(f"{name}含有无法识别的字节（不是有效的 UTF-8 文字），请检查终端的编码设置。") from None
    return value


class ChineseBadParameter(click.BadParameter):
    """A bad option value shown as one Chinese sentence (``错误：…``, exit status 2), not click's English."""

    def show(self, file=None) -> None:
        click.echo(f"错误：{self.message}", err=True)


class IntRangeZh(click.IntRange):
    """click's IntRange with its errors as one Chinese sentence: ``--top-k 应为 1 到 20 之间的整数，收到 0。``"""

    name = "整数"

    def convert(self, value, param, ctx):
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter:
            name = param.opts[0] if param is not None and param.opts else "参数"
            if self.max is None:
                bounds = f"不小于 {self.min} 的整数"
            else:
                bounds = f" {self.min} 到 {self.max} 之间的整数"
            raise ChineseBadParameter(f"{name} 应为{bounds}，收到 {value}。", ctx, param) from None


class PortRange(click.IntRange):
    """A TCP port, 0..65535 (0 = any free port)."""

    name = "port"

    def __init__(self) -> None:
        super().__init__(0, 65535)

    def convert(self, value, param, ctx):
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter:
            raise ChineseBadParameter(
                f"端口 {value} 无效：--port 应为 0 到 65535 之间的整数（0 表示任选一个空闲端口）。", ctx, param
            ) from None


PORT = PortRange()
