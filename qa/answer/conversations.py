"""Server-kept conversations: bounded in number and in turns, expiring, in memory, thread-safe.

``cachetools.TTLCache`` does the bounding (least recently used conversation evicted first) and the
expiry (idle longer than ``ttl_s``); a lock makes it safe for waitress' request threads. Nothing is
written to disk: a restart forgets every conversation, which the client learns from a 404.

>>> store = ConversationStore(max_conversations=2, max_turns=2)
>>> cid = store.new()
>>> for q in ("一", "二", "三"):
...     store.append(cid, Turn(q))
>>> [t.question for t in store.turns(cid)]
['二', '三']
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Callable

from cachetools import TTLCache

from qa.answer.followup import Turn
from qa.errors import QAError

MAX_CONVERSATIONS = 1000
MAX_TURNS = 20  # older turns are dropped: follow-ups only look back a few turns
MAX_ANSWER_CHARS = 2000  # an answer kept for follow-ups is cut to this
TTL_S = 3600.0


class ConversationNotFound(QAError):
    code = "conversation_not_found"
    http_status = 404


class ConversationStore:
    """``conversation_id`` -> list of :class:`Turn`, oldest first."""

    def __init__(self, max_conversations: int = MAX_CONVERSATIONS, max_turns: int = MAX_TURNS,
                 ttl_s: float = TTL_S, timer: Callable[[], float] = time.monotonic) -> None:
        self.max_turns = max(1, int(max_turns))
        self.ttl_s = float(ttl_s)
        self._cache: TTLCache = TTLCache(maxsize=max(1, int(max_conversations)), ttl=self.ttl_s, timer=timer)
        self._lock = threading.Lock()

    def new(self) -> str:
        """A fresh, unguessable conversation id."""
        cid = secrets.token_urlsafe(12)
        with self._lock:
            self._cache[cid] = []
        return cid

    def turns(self, cid: str) -> list[Turn]:
        """A copy of the conversation's turns; ConversationNotFound (404) when unknown or expired."""
        with self._lock:
            turns = self._cache.get(cid)
            if turns is None:
                raise ConversationNotFound(
                    f"对话 {str(cid)[:40]} 不存在或已过期（超过 {self.ttl_s / 60:.0f} 分钟未使用，或服务已重启），请开始新对话。")
            self._cache[cid] = turns  # touch: the expiry counts from the last use
            return list(turns)

    def append(self, cid: str, turn: Turn) -> None:
        """Add a turn (the answer cut to MAX_ANSWER_CHARS); keeps only the last ``max_turns``."""
        turn.answer = (turn.answer or "")[:MAX_ANSWER_CHARS]
        with self._lock:
            turns = list(self._cache.get(cid) or [])
            turns.append(turn)
            self._cache[cid] = turns[-self.max_turns:]

    def __len__(self) -> int:
        with self._lock:
            self._cache.expire()
            return len(self._cache)
