"""``qa user``, ``qa token``, ``qa watch`` and ``qa feedback``: accounts, the standalone inbox and
feedback export (docs/operations-inbox.md). Registered on the ``qa`` group by ``qa.cli``."""

from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path

import click

from qa.cli.common import BACKEND_OPTION, INDEX_OPTION, Command, Group, friendly_errors, index_location

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


def _when(at: float) -> str:
    """A Unix time as the server's local time, to the minute."""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(at))


@click.group(cls=Group)
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


@user.command("list")
@DATA_OPTION
@INDEX_OPTION
@friendly_errors
def user_list(data_dir, index) -> None:
    """列出全部账户：名字、角色、创建时间、令牌数、有效的浏览器会话数。

    \b
    示例：
      qa user list --data-dir /srv/qa/qa-data
    """
    rows = _accounts(data_dir, index).users()
    if not rows:
        click.echo("还没有任何账户：用 qa user add 名字 --role editor 添加。", err=True)
        return
    click.echo("名字\t角色\t创建时间\t令牌\t会话")
    for r in rows:
        click.echo(f"{r['name']}\t{r['role']}\t{_when(r['created_at'])}\t{r['tokens']}\t{r['sessions']}")


@user.command("remove")
@click.argument("name")
@click.option("--yes", is_flag=True, help="不再确认，直接删除（用于脚本）。")
@DATA_OPTION
@INDEX_OPTION
@friendly_errors
def user_remove(name, yes, data_dir, index) -> None:
    """删除账户 NAME，连同它的全部令牌和浏览器会话：它的请求立即被拒绝（401）。
    它上传的文件、反馈和审计记录都保留。

    \b
    示例：
      qa user remove 王编辑
      qa user remove bot --yes
    """
    store = _accounts(data_dir, index)
    store.existing_user(name)
    if not yes and not click.confirm(f"删除账户 {name} 及其全部令牌和会话？", default=False):
        click.echo("已取消，账户未删除。", err=True)
        sys.exit(1)
    store.remove_user(name)
    click.echo(f"已删除账户 {name}，它的令牌和会话已失效。")


@user.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取新密码（第一行），不提示。")
@DATA_OPTION
@INDEX_OPTION
@friendly_errors
def user_passwd(name, password_stdin, data_dir, index) -> None:
    """重设账户 NAME 的密码，并结束它已登录的浏览器会话（令牌不受影响，可用 qa token revoke 撤销）。

    \b
    示例：
      qa user passwd 王编辑
      echo 'N3w-secret-pass' | qa user passwd bot --password-stdin
    """
    store = _accounts(data_dir, index)
    store.existing_user(name)
    ended = store.set_password(name, _password(password_stdin))
    click.echo(f"已重设 {name} 的密码，结束了 {ended} 个浏览器会话。")


@click.group(cls=Group)
def token() -> None:
    """管理脚本用的 API 令牌（请求头 Authorization: Bearer <令牌>）。"""


@token.command("create")
@click.argument("name")
@click.option("--label", default=None, help="令牌用途的备注。")
@DATA_OPTION
@INDEX_OPTION
@friendly_errors
def token_create(name, label, data_dir, index) -> None:
    """为账户 NAME 生成一个令牌，只显示这一次（只保存它的哈希）。

    \b
    示例：
      qa token create bot --label nightly-upload
    """
    click.echo(_accounts(data_dir, index).create_token(name, label))


@token.command("list")
@click.argument("name", required=False)
@DATA_OPTION
@INDEX_OPTION
@friendly_errors
def token_list(name, data_dir, index) -> None:
    """列出令牌（只列 NAME 的，或全部）：编号、账户、备注、创建时间、最近使用时间。令牌本身不会显示。

    \b
    示例：
      qa token list
      qa token list bot
    """
    rows = _accounts(data_dir, index).tokens(name)
    if not rows:
        click.echo("没有令牌。", err=True)
        return
    click.echo("编号\t账户\t备注\t创建时间\t最近使用")
    for r in rows:
        used = _when(r["last_used_at"]) if r["last_used_at"] else "从未"
        click.echo(f"{r['id']}\t{r['user']}\t{r['label'] or '-'}\t{_when(r['created_at'])}\t{used}")


@token.command("revoke")
@click.argument("which", metavar="ID|LABEL")
@DATA_OPTION
@INDEX_OPTION
@friendly_errors
def token_revoke(which, data_dir, index) -> None:
    """撤销令牌（按 qa token list 中的编号，或唯一的备注）：用它的请求立即被拒绝（401）。

    \b
    示例：
      qa token revoke 3
      qa token revoke nightly-upload
    """
    gone = _accounts(data_dir, index).revoke_token(which)
    click.echo(f"已撤销令牌 {gone['id']}（账户 {gone['user']}，备注 {gone['label'] or '-'}）。")


@click.group(cls=Group)
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


@click.command(cls=Command)
@click.argument("folder", type=click.Path(file_okay=False))
@INDEX_OPTION
@BACKEND_OPTION
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
def watch(folder, index, backend, data_dir, archive, poll_s, once) -> None:
    """监视收件箱 FOLDER：放入的新一期文件复制完成后自动读取、建索引并原子发布；
    处理完的文件移到 FOLDER/done/，读不了的移到 FOLDER/rejected/（旁边的 .why.txt 写明原因）。

    \b
    示例：
      qa watch /srv/inbox --index /srv/qa/index
      qa watch /srv/inbox --backend http://10.0.0.5:19530 --data-dir /srv/qa/data
    """
    from qa.admin.accounts import data_dir as resolve
    from qa.admin.inbox import Inbox

    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    data = resolve(data_dir, index)
    inbox = Inbox(
        Path(folder),
        index_location(index, backend),
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


def register(cli: click.Group) -> None:
    """Add these commands to the ``qa`` group."""
    for command in (user, token, feedback, watch):
        cli.add_command(command)
