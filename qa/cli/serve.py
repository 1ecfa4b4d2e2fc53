"""``qa serve``: the chat page, the JSON and OpenAI-compatible APIs, uploads, the inbox and background merges
(``qa.app.serve`` runs them). Registered on the ``qa`` group by ``qa.cli``."""

from __future__ import annotations

import click

from qa.cli.common import BACKEND_OPTION, INDEX_OPTION, PORT, Command, IntRangeZh, friendly_errors, index_location
from qa.config import Settings, index_dir


@click.command(cls=Command)
@INDEX_OPTION
@BACKEND_OPTION
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=PORT, help="端口；0 表示任选一个空闲端口。")
@click.option("--threads", default=8, show_default=True, type=IntRangeZh(min=1), help="工作线程数。")
@click.option(
    "--rate-limit",
    default="60 per minute",
    show_default=True,
    help='每个客户端对 /api/* 的请求限额（如 "120 per minute"；"off" 关闭）。',
)
@click.option(
    "--allowed-hosts",
    default=None,
    envvar="QA_ALLOWED_HOSTS",
    metavar="NAMES",
    help='允许的主机名（逗号分隔；".example.com" 含子域名，"*" 不限），防 DNS 重绑定；'
    "默认：监听本机地址时只允许 localhost/127.0.0.1/::1，否则不限。",
)
@click.option(
    "--trusted-proxies",
    default=None,
    envvar="QA_TRUSTED_PROXIES",
    metavar="CIDRS",
    help="反向代理的地址或网段（逗号分隔），只信任它们发来的 X-Forwarded-For；限流按真实客户端计。",
)
@click.option(
    "--llm-base-url",
    default=None,
    help="OpenAI 兼容的大模型服务（vLLM、Ollama…），如 http://127.0.0.1:11434/v1；密钥取自 $QA_LLM_API_KEY。",
)
@click.option("--llm-model", default=None, help="该服务上的模型名。")
@click.option(
    "--llm-config",
    default=None,
    type=click.Path(dir_okay=False),
    help="含 [llm] 表的 TOML 配置文件（见 docs/operations.md）。",
)
@click.option(
    "--inbox",
    default=None,
    type=click.Path(file_okay=False),
    help="收件箱文件夹：放入的新一期自动建索引并发布（见 docs/operations-inbox.md）。",
)
@click.option(
    "--data-dir",
    default=None,
    type=click.Path(file_okay=False),
    help="数据目录：账户、审计日志、反馈、上传的档案（默认：索引文件夹旁的 qa-data）。",
)
@click.option(
    "--archive",
    default=None,
    type=click.Path(file_okay=False),
    help="上传和收件箱的新一期存放处（默认：数据目录下的 archive）。",
)
@click.option("--login-to-read", is_flag=True, help="查阅也需要登录（默认：查阅公开，修改需要账户）。")
@click.option(
    "--merge-interval",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    help="每隔这么多秒检查一次写满的分段层级，有则在后台进程中合并（回答不中断）；0：不在后台合并。",
)
@friendly_errors
def serve(
    index,
    backend,
    host,
    port,
    threads,
    rate_limit,
    allowed_hosts,
    trusted_proxies,
    llm_base_url,
    llm_model,
    llm_config,
    inbox,
    data_dir,
    archive,
    login_to_read,
    merge_interval,
) -> None:
    """提供问答页面和 JSON 接口；新发布的索引版本会自动切换，写满的分段层级在后台合并。

    \b
    示例：
      qa serve
      qa serve --index /srv/qa/index --host 0.0.0.0 --port 8080 --threads 16
      qa serve --llm-base-url http://127.0.0.1:11434/v1 --llm-model qwen2.5:7b
      qa serve --backend http://10.0.0.5:19530 --host 0.0.0.0   # 多个副本共用一个 Milvus
      qa serve --host 0.0.0.0 --allowed-hosts qa.example.com --trusted-proxies 10.0.0.2
    """
    from qa.app.hosts import split_list
    from qa.app.proxies import parse_networks
    from qa.app.serve import serve as run_server
    from qa.store.location import MilvusTarget

    parse_networks(split_list(trusted_proxies))  # a typo is reported before the model loads

    location = index_location(index, backend)
    milvus = location if isinstance(location, MilvusTarget) else None
    run_server(
        Settings(
            index=index_dir(index),
            backend=milvus,
            host=host,
            port=port,
            threads=threads,
            rate_limit=rate_limit,
            allowed_hosts=split_list(allowed_hosts) or None,
            trusted_proxies=split_list(trusted_proxies),
            llm_base_url=llm_base_url,
            llm_model=llm_model,
            llm_config=llm_config,
            inbox=inbox,
            data_dir=data_dir,
            archive=archive,
            read_requires_login=login_to_read,
            merge_interval_s=merge_interval,
        )
    )
