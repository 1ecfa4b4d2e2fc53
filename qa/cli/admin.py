"""``qa user``, ``qa token``, ``qa watch`` and ``qa feedback``: accounts, the standalone inbox and
feedback export (docs/operations-inbox.md). Registered on the ``qa`` group by ``qa.cli``."""

from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path

import click

from qa.cli.common import INDEX_OPTION, Group, friendly_errors

DATA_OPTION = click.option(
    "--data-dir",
    "data_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="数据目录：账户、审计日志、反馈（默认：$QA_DATA，或索引文件夹旁的 qa-data）。",
)


def _accounts(data_dir, index):
    from qa.admin.accounts import Accounts
    from qa.admin.accounts import data_dir as resolve

    return Accounts(resolve(data_dir, index))


def _password(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():  # scripts: the first line of stdin
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("密码", hide_input=True, confirmation_prompt="再输入一次")


def register(cli: click.Group) -> None:
    @cli.group(cls=Group)
    def user() -> None:
        """管理账户（角色：reader 只读、editor 可上传和修改、admin 另可查看反馈和审计日志）。"""

    @user.command("add")
    @click.argument("name")
    @click.option("--role", type=click.Choice(["reader", "editor", "admin"]), required=True, help="角色。")
    @click.option("--password-stdin", is_flag=True, help="从标准输入读取密码（第一行），不提示。")
    @DATA_OPTION
    @INDEX_OPTION
    @friendly_errors
    def user_add(name, role, password_stdin, data_dir, index) -> None:
        """添加账户 NAME；密码在提示时输入（或用 --password-stdin 从标准输入读取），以 Argon2id 哈希保存。

        \b
        示例：
          qa user add 王编辑 --role editor
          echo 'S3cret-pass' | qa user add bot --role editor --password-stdin
        """
        store = _accounts(data_dir, index)
        store.add_user(name, role, _password(password_stdin))
        click.echo(f"已添加账户 {name}（{role}），数据目录 {store.folder}。")

    @cli.group(cls=Group)
    def token() -> None:
        """管理脚本用的 API 令牌（请求头 Authorization: Bearer <令牌>）。"""

    @token.command("create")
    @click.argument("name")
    @click.option("--label", default=None, help="令牌用途的备注。")
    @DATA_OPTION
    @INDEX_OPTION
    @friendly_errors
    def token_create(name, label, data_dir, index) -> None:
        """为账户 NAME 生成一个令牌，只显示这一次（只保存它的哈希）。"""
        click.echo(_accounts(data_dir, index).create_token(name, label))

    @cli.group(cls=Group)
    def feedback() -> None:
        """读者对回答的 👍/👎 反馈。"""

    @feedback.command("export")
    @click.option("--csv", "as_csv", is_flag=True, required=True, help="以 CSV 输出到标准输出。")
    @DATA_OPTION
    @INDEX_OPTION
    @friendly_errors
    def feedback_export(as_csv, data_dir, index) -> None:
        """导出全部反馈：时间、用户、评价（1 / -1）、意见、问题、回答、引用段落、索引版本。"""
        from qa.admin.accounts import data_dir as resolve
        from qa.admin.feedback import FeedbackStore

        click.echo(FeedbackStore(resolve(data_dir, index)).export_csv(), nl=False)

    @cli.command()
    @click.argument("folder", type=click.Path(file_okay=False))
    @INDEX_OPTION
    @DATA_OPTION
    @click.option(
        "--archive",
        type=click.Path(file_okay=False),
        default=None,
        help="新一期存放的档案根目录（默认：数据目录下的 archive）。",
    )
    @click.option("--poll", "poll_s", type=float, default=1.0, show_default=True, help="检查收件箱的间隔（秒）。")
    @click.option("--once", is_flag=True, help="处理完收件箱中现有的文件就退出。")
    @friendly_errors
    def watch(folder, index, data_dir, archive, poll_s, once) -> None:
        """监视收件箱 FOLDER：放入的新一期文件复制完成后自动读取、建索引并原子发布；
        处理完的文件移到 FOLDER/done/，读不了的移到 FOLDER/rejected/（旁边的 .why.txt 写明原因）。

        \b
        示例：
          qa watch /srv/inbox --index /srv/qa/index
        """
        from qa.admin.accounts import data_dir as resolve
        from qa.admin.inbox import Inbox
        from qa.config import index_dir

        logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
        data = resolve(data_dir, index)
        inbox = Inbox(
            Path(folder),
            index_dir(index),
            Path(archive or data / "archive"),
            audit=_accounts(data_dir, index).audit,
            poll_s=poll_s,
        )
        if once:
            inbox.recover()
            while inbox.poll() or inbox.pending:  # a unit is taken on the second poll that sees it unchanged
                time.sleep(poll_s)
            return
        click.echo(f"正在监视收件箱 {folder}（按 Ctrl-C 停止）。", err=True)
        try:
            inbox.run(threading.Event())
        except KeyboardInterrupt:
            pass
