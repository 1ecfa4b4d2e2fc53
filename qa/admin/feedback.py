"""👍/👎 feedback on answers, kept in the data folder's SQLite file (``qa.admin.accounts``).

Each entry keeps what the reader saw: the question, the answer text, the cited passages and the
index version, so a bad answer can be reproduced after the index has moved on.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from qa.admin.datadb import connect
from qa.errors import BadInput

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (id INTEGER PRIMARY KEY, at REAL NOT NULL, user TEXT, rating INTEGER NOT NULL,
                                     comment TEXT, question TEXT NOT NULL, answer TEXT, passages TEXT,
                                     index_version TEXT);
"""
MAX_COMMENT = 1000
MAX_TEXT = 20000
CSV_COLUMNS = ("id", "at", "user", "rating", "comment", "question", "answer", "passages", "index_version")


def parse_feedback(body: object) -> dict:
    """The fields of a ``POST /api/feedback`` body, checked; BadInput names the field at fault."""
    if not isinstance(body, dict):
        raise BadInput("请求体应为 JSON 对象。")
    rating = body.get("rating")
    if rating not in ("up", "down", 1, -1):
        raise BadInput('字段 rating 应为 "up" 或 "down"（👍/👎）。')
    question = body.get("question")
    if not isinstance(question, str) or not question.strip() or len(question) > MAX_TEXT:
        raise BadInput("字段 question 应为非空字符串。")
    comment, answer = body.get("comment") or "", body.get("answer") or ""
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT:
        raise BadInput(f"字段 comment 应为字符串，最多 {MAX_COMMENT} 个字。")
    if not isinstance(answer, str) or len(answer) > MAX_TEXT:
        raise BadInput("字段 answer 应为字符串。")
    passages = body.get("passages") or []
    if not isinstance(passages, list):
        raise BadInput("字段 passages 应为数组（回答引用的段落）。")
    version = body.get("index_version")
    if version is not None and not isinstance(version, str):
        raise BadInput("字段 index_version 应为字符串。")
    return {
        "rating": 1 if rating in ("up", 1) else -1,
        "comment": comment.strip(),
        "question": question.strip(),
        "answer": answer,
        "passages": passages,
        "index_version": version,
    }


class FeedbackStore:
    def __init__(self, folder: Path):
        self.folder = Path(folder)  # created by the first entry

    def _db(self) -> sqlite3.Connection:
        conn = connect(self.folder, SCHEMA)
        conn.row_factory = sqlite3.Row
        return conn

    def add(self, entry: dict, user: str | None) -> int:
        with closing(self._db()) as db:
            cur = db.execute(
                "INSERT INTO feedback (at, user, rating, comment, question, answer, passages, index_version) "
                "VALUES (?,?,?,?,?,?,?,?)",
                (
                    time.time(),
                    user,
                    entry["rating"],
                    entry["comment"],
                    entry["question"],
                    entry["answer"],
                    json.dumps(entry["passages"], ensure_ascii=False),
                    entry["index_version"],
                ),
            )
            return int(cur.lastrowid)

    def rows(self) -> list[dict]:
        if not (self.folder / "qa.sqlite3").is_file():
            return []
        with closing(self._db()) as db:
            return [dict(r) for r in db.execute(f"SELECT {', '.join(CSV_COLUMNS)} FROM feedback ORDER BY id")]

    def worst(self, limit: int = 100) -> list[dict]:
        """Questions by score (👍 minus 👎), worst first, each with its entries (newest first)."""
        groups: dict[str, dict] = {}
        for r in reversed(self.rows()):
            g = groups.setdefault(r["question"], {"question": r["question"], "up": 0, "down": 0, "entries": []})
            g["up" if r["rating"] > 0 else "down"] += 1
            g["entries"].append({**r, "passages": json.loads(r["passages"] or "[]")})
        ranked = sorted(groups.values(), key=lambda g: (g["up"] - g["down"], -g["down"]))
        return [{**g, "score": g["up"] - g["down"]} for g in ranked[:limit]]

    def export_csv(self) -> str:
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(CSV_COLUMNS)
        for r in self.rows():
            r["at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(r["at"]))
            w.writerow([r[c] for c in CSV_COLUMNS])
        return out.getvalue()
