"""Connections held open cannot lock clients out: idle ones make room for new ones.

Waitress serves at most ``connection_limit`` connections and stops accepting while it holds that
many, and it closes an idle connection only after ``channel_timeout`` (checked every
``cleanup_interval``). So ~100 connections that send half a request and wait (or trickle a byte a
minute) locked every other client out. Raising the limit only raises the price of the attack, so
on top of tuned limits this module makes room when a connection is accepted:

* **per client address** at most ``per_client`` connections: one more closes that client's own
  least recently active *idle* connection (no request being run, nothing left to send; a
  half-received request counts as idle); if all of them are busy, the new one is refused.
  A browser opens ~6; the default leaves room for an office behind one NAT address. Trusted
  reverse proxies (``--trusted-proxies``) carry many users and are exempt.
* **in total**, when the count reaches waitress' ``connection_limit``, the least recently active
  idle connection of anyone is closed, so accepting never stops while idle connections exist.

A client whose idle keep-alive connection was closed just opens a new one (browsers and HTTP
libraries do this by themselves). The hook is waitress' ``channel_class`` (as in
``qa.app.wsgi_errors``); everything runs on waitress' event-loop thread, which owns the channels.
"""

from __future__ import annotations

import logging

from waitress.channel import HTTPChannel

from qa.app.proxies import Network, is_trusted
from qa.app.wsgi_errors import JSONErrorChannel

log = logging.getLogger("qa.serve")

CONNECTION_LIMIT = 200  # waitress' default is 100; each idle connection costs one socket and a few KB
PER_CLIENT = 32  # connections per client address (browsers open ~6 per host)
CHANNEL_TIMEOUT_S = 30  # an idle connection (keep-alive or half-sent request) is closed after this
CLEANUP_INTERVAL_S = 5  # how often waitress looks for such connections (default 30)


def _idle(ch: HTTPChannel) -> bool:
    return not ch.requests and not ch.total_outbufs_len and not ch.will_close


def _client(ch: HTTPChannel) -> str:
    return ch.addr[0] if isinstance(ch.addr, tuple) and ch.addr else "-"


def _close_oldest_idle(channels: list[HTTPChannel], why: str) -> bool:
    """Close the least recently active idle channel and drop it from ``channels``; False if none."""
    idle = [ch for ch in channels if _idle(ch)]
    if not idle:
        return False
    oldest = min(idle, key=lambda ch: ch.last_activity)
    log.debug("closing idle connection from %s to make room (%s)", _client(oldest), why)  # floods under attack
    oldest.handle_close()
    channels.remove(oldest)
    return True


class GuardedChannel(JSONErrorChannel):
    """A channel that, once accepted, makes room as described in the module docstring."""

    per_client = PER_CLIENT
    trusted: tuple[Network, ...] = ()

    def __init__(self, server, sock, addr, adj, map=None):
        super().__init__(server, sock, addr, adj, map=map)
        self._make_room(map if map is not None else {})

    def _make_room(self, socket_map: dict) -> None:
        others = [ch for ch in socket_map.values() if isinstance(ch, HTTPChannel) and ch is not self]
        client = _client(self)
        if not is_trusted(client, self.trusted):
            same = [ch for ch in others if _client(ch) == client and not ch.will_close]
            if len(same) >= self.per_client and not _close_oldest_idle(same, f"{len(same)} from one address"):
                log.info("refusing a connection from %s: %d connections all busy", client, len(same))
                self.handle_close()
                return
            others = [ch for ch in others if ch.connected]
        while len(socket_map) >= self.adj.connection_limit:
            if not _close_oldest_idle(others, "connection limit reached"):
                break  # all busy: waitress stops accepting until one finishes, as before


def guard_connections(socket_map: dict, per_client: int = PER_CLIENT, trusted: tuple[Network, ...] = ()) -> int:
    """Make every waitress server in ``socket_map`` (not yet running) use GuardedChannel; returns
    how many servers were switched. Call after ``use_json_errors`` (it replaces that class)."""
    from waitress.server import BaseWSGIServer

    channel = type("QAChannel", (GuardedChannel,), {"per_client": max(1, int(per_client)), "trusted": trusted})
    servers = [d for d in socket_map.values() if isinstance(d, BaseWSGIServer)]
    for server in servers:
        server.channel_class = channel
    return len(servers)
