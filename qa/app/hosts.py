"""The ``Host`` check against DNS rebinding: requests naming a host the server was not configured
for are answered 400 ``host_not_allowed`` before any route runs.

A page on ``evil.example.com`` whose DNS name is re-pointed at 127.0.0.1 can make a browser send
requests to a server on loopback; they carry ``Host: evil.example.com``, which is how they are
told apart. ``settings.allowed_hosts`` (``qa serve --allowed-hosts``, ``QA_ALLOWED_HOSTS``) lists
the names clients use; ``*`` allows any, ``.example.com`` a domain and its subdomains. Unset, a
server bound to loopback allows its bound host, ``localhost``, ``127.0.0.1`` and ``::1``; a server
bound to any other address allows any Host (its users reach it by names we cannot guess) and
``qa serve`` warns and recommends the option. See docs/security.md.
"""

from __future__ import annotations

import ipaddress
import re

from qa.errors import HostNotAllowed

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_HOST_PORT = re.compile(r"^(\[[0-9a-f:.]+\]|[^:\[\]]*)(?::\d{1,5})?$", re.IGNORECASE)


def split_list(value) -> tuple[str, ...]:
    """``"a, b c"`` or a list -> ``("a", "b", "c")``; None/empty -> ``()``.

    >>> split_list("qa.example.com, 10.0.0.5")
    ('qa.example.com', '10.0.0.5')
    """
    if not value:
        return ()
    items = re.split(r"[,\s]+", value) if isinstance(value, str) else [str(v) for v in value]
    return tuple(i.strip() for i in items if i.strip())


def is_loopback(host: str) -> bool:
    """Whether a bind address only listens on this machine.

    >>> [is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "0.0.0.0", "10.0.0.5")]
    [True, True, True, False, False]
    """
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def default_allowed_hosts(bind_host: str) -> tuple[str, ...] | None:
    """The allowed names when none are configured: loopback binds get loopback names, others None (any)."""
    if not is_loopback(bind_host):
        return None
    return tuple(dict.fromkeys((bind_host.strip("[]").lower(), *LOOPBACK_NAMES)))


def host_name(header: str) -> str:
    """The name part of a ``Host`` header, lower-cased, without port or IPv6 brackets.

    >>> [host_name(h) for h in ("LocalHost:8000", "[::1]:8000", "qa.example.com")]
    ['localhost', '::1', 'qa.example.com']
    """
    m = _HOST_PORT.match(header.strip())
    return m.group(1).strip("[]").lower().rstrip(".") if m else ""


def host_allowed(header: str, allowed: tuple[str, ...] | None) -> bool:
    """Whether the ``Host`` header names one of ``allowed`` (None or ``*`` allow any).

    >>> host_allowed("evil.example.com", ("localhost", "127.0.0.1"))
    False
    >>> host_allowed("news.qa.example.com:80", (".qa.example.com",))
    True
    """
    if allowed is None or "*" in allowed:
        return True
    name = host_name(header)
    for ref in allowed:
        ref = ref.strip("[]").lower().rstrip(".")
        if name and (name == ref.lstrip(".") or (ref.startswith(".") and name.endswith(ref))):
            return True
    return False


def check_host(environ: dict, allowed: tuple[str, ...] | None) -> None:
    """Raise HostNotAllowed (400) when the request's Host is not allowed. A request without Host
    (HTTP/1.0 tools) passes: browsers always send one, and rebinding needs a browser."""
    header = environ.get("HTTP_HOST")
    if header is not None and not host_allowed(header, allowed):
        raise HostNotAllowed(
            f"主机名 {host_name(header)[:100] or '（空）'} 不在允许列表中："
            "请用服务器配置的地址访问（管理员可用 qa serve --allowed-hosts 添加）。"
        )
