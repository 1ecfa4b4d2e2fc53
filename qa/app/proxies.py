"""``X-Forwarded-For`` honoured only from configured reverse proxies (``--trusted-proxies``).

Behind nginx every request arrives from the proxy's address, so the rate limit and the
per-client conversation quota (both keyed on ``REMOTE_ADDR``) put all users in one bucket. A WSGI
middleware replaces ``REMOTE_ADDR`` with the real client, but **only** when the connection comes
from a listed proxy: anyone else could send a forged ``X-Forwarded-For`` to get a fresh bucket
per request. The header is read from the right (the entry the proxy appended) leftwards, skipping
addresses that are themselves trusted proxies (a chain of them); the first other address is the
client. werkzeug's ``ProxyFix`` trusts a fixed *number* of hops from any sender, which is why it
is not used. The proxy's own address is kept in ``environ["qa.proxy_addr"]``.
"""

from __future__ import annotations

import ipaddress

from qa.errors import BadInput

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values) -> tuple[Network, ...]:
    """CIDRs or single addresses -> networks; BadInput naming a value that is neither.

    >>> [str(n) for n in parse_networks(["10.0.0.0/8", "::1"])]
    ['10.0.0.0/8', '::1/128']
    """
    nets = []
    for value in values or ():
        try:
            nets.append(ipaddress.ip_network(str(value).strip(), strict=False))
        except ValueError:
            raise BadInput(
                f"--trusted-proxies 中的 {str(value)[:60]} 不是 IP 地址或网段（例如 10.0.0.5、10.0.0.0/24）。"
            ) from None
    return tuple(nets)


def _address(text: str):
    """An IP from a header entry (``1.2.3.4``, ``[::1]``, ``1.2.3.4:5678``), or None."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def is_trusted(addr: str | None, nets: tuple[Network, ...]) -> bool:
    ip = _address(addr or "")
    return ip is not None and any(ip in net for net in nets)


def real_client(remote_addr: str, forwarded_for: str | None, nets: tuple[Network, ...]) -> str:
    """The client address: ``remote_addr`` unless it is a trusted proxy that forwarded for someone.

    >>> nets = parse_networks(["10.0.0.5"])
    >>> real_client("10.0.0.5", "6.6.6.6, 203.0.113.7", nets)   # the proxy appended the last one
    '203.0.113.7'
    >>> real_client("198.51.100.1", "203.0.113.7", nets)         # not a proxy: header ignored
    '198.51.100.1'
    """
    if not forwarded_for or not is_trusted(remote_addr, nets):
        return remote_addr
    for entry in reversed(forwarded_for.split(",")):
        ip = _address(entry)
        if ip is None:
            return remote_addr  # garbage from the client side of the chain: stay with what we know
        if not any(ip in net for net in nets):
            return str(ip)
    return remote_addr


class TrustedProxies:
    """WSGI middleware: ``REMOTE_ADDR`` becomes the real client for requests from trusted proxies."""

    def __init__(self, app, networks: tuple[Network, ...]):
        self.app = app
        self.networks = networks

    def __call__(self, environ, start_response):
        remote = environ.get("REMOTE_ADDR", "")
        client = real_client(remote, environ.get("HTTP_X_FORWARDED_FOR"), self.networks)
        if client != remote:
            environ["qa.proxy_addr"] = remote
            environ["REMOTE_ADDR"] = client
        return self.app(environ, start_response)
