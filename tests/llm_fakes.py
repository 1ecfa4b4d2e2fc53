"""A scripted OpenAI-compatible server for the failures a real LLM server cannot be made to produce
on demand: a stall, HTTP 500, malformed JSON, an answer citing a passage that was not sent, an
answer holding a number that no passage has. It speaks real HTTP on a loopback port, so the real
``openai`` client and the real timeouts are exercised.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ScriptedLLM:
    """``mode``: "reply" (stream/return ``reply``), "stall" (sleep ``stall_s`` first), "http500",
    "garbage" (a 200 whose body is not JSON), "refuse" (``url`` points at a closed port).

    ``piece_delay_s`` > 0 writes a streamed reply one 7-character piece at a time with that pause
    between pieces, as a real model does; 0 sends the whole stream in one write.

    ``context`` > 0: ``GET /v1/models`` reports it as the model's ``max_model_len``, as vLLM does;
    otherwise GET answers 404, as servers that do not say."""

    def __init__(
        self, mode: str = "reply", reply: str = "", stall_s: float = 10.0, piece_delay_s: float = 0.0, context: int = 0
    ):
        self.mode, self.reply, self.stall_s, self.piece_delay_s = mode, reply, stall_s, piece_delay_s
        self.context = context
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                outer.requests.append(body)
                outer.handle(self, body)

            def do_GET(self):
                if outer.context and self.path.endswith("/models"):
                    data = [{"id": "tiny", "object": "model", "max_model_len": outer.context}]
                    return outer._send(self, 200, "application/json", json.dumps({"data": data}).encode())
                outer._send(self, 404, "application/json", b'{"error": {"message": "not found"}}')

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        port = self.server.server_address[1]
        if mode == "refuse":
            self.server.shutdown()
            self.server.server_close()
        self.url = f"http://127.0.0.1:{port}/v1"

    def _send(self, h, status: int, ctype: str, data: bytes) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        try:
            h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up first (the stall test)
            pass

    def handle(self, h, body: dict) -> None:
        if self.mode == "stall":
            time.sleep(self.stall_s)
        if self.mode == "http500":
            return self._send(h, 500, "application/json", b'{"error": {"message": "boom"}}')
        if self.mode == "garbage":
            return self._send(h, 200, "text/event-stream", b"data: {this is not json\n\n")
        if not body.get("stream"):
            msg = {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": body.get("model"),
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": self.reply}, "finish_reason": "stop"}
                ],
            }
            return self._send(h, 200, "application/json", json.dumps(msg).encode())
        pieces = [self.reply[i : i + 7] for i in range(0, len(self.reply), 7)]
        events = []
        for p in pieces:
            chunk = {
                "id": "x",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": body.get("model"),
                "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}],
            }
            events.append(b"data: " + json.dumps(chunk, ensure_ascii=False).encode() + b"\n\n")
        events.append(b"data: [DONE]\n\n")
        if not self.piece_delay_s:
            return self._send(h, 200, "text/event-stream", b"".join(events))
        self._drip(h, events)

    def _drip(self, h, events: list[bytes]) -> None:
        """One event per write, flushed, ``piece_delay_s`` apart (HTTP/1.0: the body ends at close)."""
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.end_headers()
        try:
            for event in events:
                h.wfile.write(event)
                h.wfile.flush()
                time.sleep(self.piece_delay_s)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def close(self) -> None:
        if self.mode != "refuse":
            self.server.shutdown()
            self.server.server_close()

    def __enter__(self) -> "ScriptedLLM":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
