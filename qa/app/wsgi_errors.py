"""Waitress' own error replies in the one JSON shape, with the security headers.

Some requests never reach the Flask app: waitress answers them itself while parsing (a body over
``max_request_body_size``, a malformed request line, headers over ``max_request_header_size``,
an unsupported ``Transfer-Encoding``) or when the app fails before sending headers. By default
those replies are English ``text/plain`` without the CSP/nosniff headers. Waitress builds them in
``ErrorTask``, chosen through ``HTTPChannel.error_task_class``, and a server creates its channels
from ``channel_class``; both are class attributes meant to be overridden, so replacing them is the
supported hook (no monkey-patching of waitress itself). The channel's ``parser_class`` is the same
kind of hook: it refuses requests that are not HTTP/1.0 or 1.1 (waitress would answer HTTP/0.9).
"""

from __future__ import annotations

import logging

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser, ParsingError
from waitress.server import BaseWSGIServer
from waitress.task import ErrorTask

from qa.app.responses import SECURITY_HEADERS, error_body, error_for_status

log = logging.getLogger("qa.access")


class JSONErrorTask(ErrorTask):
    """``ErrorTask`` with the JSON body and our headers; waitress' English detail goes to the log."""

    def execute(self) -> None:
        err = self.request.error
        code, message = error_for_status(err.code)
        body = error_body(code, message)
        self.status = f"{err.code} {err.reason}"
        self.response_headers.extend(
            [
                ("Content-Type", "application/json"),
                ("Cache-Control", "no-store"),
                *SECURITY_HEADERS.items(),
            ]
        )
        self.set_close_on_finish()  # the request could not be parsed: the connection state is unknown
        self.content_length = len(body)
        self.write(body)
        addr = getattr(self.channel, "addr", None)
        client = addr[0] if isinstance(addr, tuple) and addr else "-"
        log.info("%s rejected by waitress with %s: %s", client, err.code, str(err.body)[:200])


class HTTP1RequestParser(HTTPRequestParser):
    """Only HTTP/1.0 and 1.1: a request line without a version (HTTP/0.9, whose reply has no status
    line or headers, so no security header could reach the client) or with another one is a 400."""

    def parse_header(self, header_plus: bytes) -> None:
        super().parse_header(header_plus)
        if self.version not in ("1.0", "1.1"):
            raise ParsingError(f"HTTP version {self.version or '0.9'} not supported")


class JSONErrorChannel(HTTPChannel):
    error_task_class = JSONErrorTask
    parser_class = HTTP1RequestParser


def use_json_errors(socket_map: dict) -> int:
    """Make every waitress server in ``socket_map`` (not yet running) answer errors as JSON.

    Returns how many servers were switched (one per listening socket)."""
    servers = [d for d in socket_map.values() if isinstance(d, BaseWSGIServer)]
    for server in servers:
        server.channel_class = JSONErrorChannel
    return len(servers)
