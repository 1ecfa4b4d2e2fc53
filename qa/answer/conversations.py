"""Server-kept conversations: bounded in number and in turns, expiring, in memory, thread-safe.

``cachetools.TTLCache`` does the bounding (least recently used conversation evicted first) and the
expiry (idle longer than ``ttl_s``); a lock makes it safe for waitress' request threads. Nothing is
written to disk: a restart forgets every conversation, which the client learns from a 404.

Each conversation remembers the client address that started it, and one client holds at most
``per_client`` live conversations: starting one more drops **that client's** least recently used
conversation, not someone else's. Without this quota one client sending ``"conversation_id": "new"``
a thousand times (about a second) pushed every other user's conversation out of the LRU cache.

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
from dataclasses import dataclass
from typing import Callable

from cachetools import Cache, TTLCache

from qa.errors import ConversationNotFound
from qa.types import Turn

MAX_CONVERSATIONS = 1000
PER_CLIENT = 20  # live conversations per client address (a browser tab holds one; an office NAT a few)
MAX_TURNS = 20  # older turns are dropped: follow-ups only look back a few turns
MAX_ANSWER_CHARS = 2000  # an answer kept for follow-ups is cut to this
TTL_S = 3600.0


@dataclass
class _Conversation:
    client: str
    turns: list[Turn]
    used: float  # timer() of the last use: the client's least recently used one goes first


class ConversationStore:
    """``conversation_id`` -> list of :class:`Turn`, oldest first."""

    def __init__(
        self,
        max_conversations: int = MAX_CONVERSATIONS,
        max_turns: int = MAX_TURNS,
        ttl_s: float = TTL_S,
        timer: Callable[[], float] = time.monotonic,
        per_client: int = PER_CLIENT,
    ) -> None:
        self.max_turns = max(1, int(max_turns))
        self.ttl_s = float(ttl_s)
        self.per_client = max(1, int(per_client))
        self._timer = timer
        self._cache: TTLCache = TTLCache(maxsize=max(1, int(max_conversations)), ttl=self.ttl_s, timer=timer)
        self._lock = threading.Lock()

    def new(self, client: str = "-") -> str:
        """A fresh, unguessable conversation id for ``client`` (its address); past the quota the
        client's own least recently used conversation is dropped."""
        cid = secrets.token_urlsafe(12)
        with self._lock:
            self._cache.expire()
            # Cache.__getitem__ reads without TTLCache's LRU touch: the scan must not reorder everyone
            own = [(c.used, k) for k in self._cache if (c := Cache.__getitem__(self._cache, k)).client == client]
            for _used, old in sorted(own)[: max(0, len(own) - self.per_client + 1)]:
                del self._cache[old]
            self._cache[cid] = _Conversation(client, [], self._timer())
        return cid

    def turns(self, cid: str) -> list[Turn]:
        """A copy of the conversation's turns; ConversationNotFound (404) when unknown or expired."""
        with self._lock:
            conv = self._cache.get(cid)
            if conv is None:
                raise ConversationNotFound(
                    f"对话 {str(cid)[:40]} 不存在或已过期（超过 {self.ttl_s / 60:.0f} 分钟未使用，"
                    "或服务已重启），请开始新对话。"
                )
            conv.used = self._timer()
            self._cache[cid] = conv  # touch: the expiry counts from the last use
            return list(conv.turns)

    def append(self, cid: str, turn: Turn) -> None:
        """Add a turn (the answer cut to MAX_ANSWER_CHARS); keeps only the last ``max_turns``."""
        turn.answer = (turn.answer or "")[:MAX_ANSWER_CHARS]
        with self._lock:
            conv = self._cache.get(cid) or _Conversation("-", [], 0.0)
            conv.turns = (conv.turns + [turn])[-self.max_turns :]
            conv.used = self._timer()
            self._cache[cid] = conv

    def __len__(self) -> int:
        with self._lock:
            self._cache.expire()
            return len(self._cache)
