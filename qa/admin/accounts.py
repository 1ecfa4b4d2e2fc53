"""Accounts, API tokens, browser sessions and the audit log, in one SQLite file in the data folder.

The data folder (``--data-dir``, ``$QA_DATA``, default ``<index>/../qa-data``) holds ``qa.sqlite3``
(this module and ``qa.admin.feedback``), the archive new issues are written to (``archive/``) and
uploads in progress. Passwords are hashed with Argon2id (argon2-cffi); API tokens and session
ids are 256-bit random strings of which only a SHA-256 is stored (they are not guessable, so a
slow hash adds nothing). Roles: ``reader`` < ``editor`` < ``admin``.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from qa.admin.datadb import DB_NAME, connect
from qa.errors import BadInput, NotFound

ROLES = ("reader", "editor", "admin")
SESSION_SECONDS = 12 * 3600
MIN_PASSWORD = 8
MAX_NAME = 40
USED_EVERY_S = 60  # a token's last use is written at most this often (not on every request)
_MIGRATED: set[Path] = set()

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, role TEXT NOT NULL, pw_hash TEXT NOT NULL,
                                  created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (id INTEGER PRIMARY KEY, user TEXT NOT NULL REFERENCES users(name),
                                   token_hash TEXT NOT NULL UNIQUE, label TEXT, created_at REAL NOT NULL,
                                   last_used_at REAL);
CREATE TABLE IF NOT EXISTS sessions (sid_hash TEXT PRIMARY KEY, user TEXT NOT NULL, csrf TEXT NOT NULL,
                                     expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY, at REAL NOT NULL, actor TEXT NOT NULL,
                                  action TEXT NOT NULL, target TEXT, detail TEXT);
"""


def data_dir(given: str | os.PathLike | None, index: str | os.PathLike | None) -> Path:
    """``--data-dir`` if given, else ``$QA_DATA``, else ``qa-data`` beside the index folder."""
    if given or os.environ.get("QA_DATA"):
        return Path(given or os.environ["QA_DATA"])
    return Path(index or os.environ.get("QA_INDEX") or "index").absolute().parent / "qa-data"


def role_at_least(role: str | None, needed: str) -> bool:
    """Whether ``role`` is ``needed`` or above.

    >>> role_at_least("admin", "editor"), role_at_least("reader", "editor"), role_at_least(None, "reader")
    (True, False, False)
    """
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def _sha(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class User:
    name: str
    role: str


class Accounts:
    """Users, tokens, sessions and audit entries of one data folder. Thread-safe: a connection per call."""

    def __init__(self, folder: Path):
        self.folder = Path(
            folder
        )  # nothing is created until the first write (a server without accounts leaves no trace)

    def _db(self) -> sqlite3.Connection:
        """A connection for a write: creates the folder and the tables when needed."""
        conn = connect(self.folder, SCHEMA)
        conn.row_factory = sqlite3.Row
        if self.folder.absolute() not in _MIGRATED:  # data folders from before tokens.last_used_at
            if "last_used_at" not in {r[1] for r in conn.execute("PRAGMA table_info(tokens)")}:
                try:
                    conn.execute("ALTER TABLE tokens ADD COLUMN last_used_at REAL")
                except sqlite3.OperationalError as e:  # another process added it first
                    if "duplicate column" not in str(e):
                        raise
            _MIGRATED.add(self.folder.absolute())
        return conn

    def _read(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        """Rows of a query; none while the database does not exist yet."""
        if not (self.folder / DB_NAME).is_file():
            return []
        with closing(self._db()) as db:
            return db.execute(sql, args).fetchall()

    # users -----------------------------------------------------------------------------------
    def add_user(self, name: str, role: str, password: str) -> User:
        from argon2 import PasswordHasher

        name = (name or "").strip()
        if not name or len(name) > MAX_NAME or any(c.isspace() or not c.isprintable() for c in name):
            raise BadInput(f"用户名无效：1 到 {MAX_NAME} 个字符，不含空格。")
        if role not in ROLES:
            raise BadInput(f"角色无效：{role}，应为 {'、'.join(ROLES)} 之一。")
        if len(password or "") < MIN_PASSWORD:
            raise BadInput(f"密码太短：至少 {MIN_PASSWORD} 个字符。")
        with closing(self._db()) as db:
            if db.execute("SELECT 1 FROM users WHERE name=?", (name,)).fetchone():
                raise BadInput(f"用户 {name} 已存在。")
            db.execute("INSERT INTO users VALUES (?,?,?,?)", (name, role, PasswordHasher().hash(password), time.time()))
        self.audit("cli", "user.add", name, {"role": role})
        return User(name, role)

    def users(self) -> list[dict]:
        """Every account: name, role, created_at, and how many tokens and live sessions it has."""
        rows = self._read(
            "SELECT name, role, created_at, (SELECT COUNT(*) FROM tokens t WHERE t.user = u.name) AS tokens, "
            "(SELECT COUNT(*) FROM sessions s WHERE s.user = u.name AND s.expires_at >= ?) AS sessions "
            "FROM users u ORDER BY name",
            (time.time(),),
        )
        return [dict(r) for r in rows]

    def remove_user(self, name: str, actor: str = "cli") -> None:
        """Delete the account with its tokens and sessions: its requests are refused (401) at once."""
        self.existing_user(name)
        with closing(self._db()) as db:
            db.execute("BEGIN IMMEDIATE")
            tokens = db.execute("DELETE FROM tokens WHERE user=?", (name,)).rowcount
            sessions = db.execute("DELETE FROM sessions WHERE user=?", (name,)).rowcount
            db.execute("DELETE FROM users WHERE name=?", (name,))
            db.execute("COMMIT")
        self.audit(actor, "user.remove", name, {"tokens": tokens, "sessions": sessions})

    def set_password(self, name: str, password: str, actor: str = "cli") -> int:
        """A new password for ``name``; ends its browser sessions (tokens stay). Returns the sessions ended."""
        from argon2 import PasswordHasher

        self.existing_user(name)
        if len(password or "") < MIN_PASSWORD:
            raise BadInput(f"密码太短：至少 {MIN_PASSWORD} 个字符。")
        with closing(self._db()) as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("UPDATE users SET pw_hash=? WHERE name=?", (PasswordHasher().hash(password), name))
            ended = db.execute("DELETE FROM sessions WHERE user=?", (name,)).rowcount
            db.execute("COMMIT")
        self.audit(actor, "user.passwd", name, {"sessions_ended": ended})
        return ended

    def existing_user(self, name: str) -> User:
        """The account ``name``; NotFound (naming it) when there is none."""
        user = self.user(name)
        if user is None:
            raise NotFound(f"没有账户 {name}：用 qa user list 查看现有账户。")
        return user

    def has_users(self) -> bool:
        return bool(self._read("SELECT 1 FROM users LIMIT 1"))

    def user(self, name: str) -> User | None:
        rows = self._read("SELECT name, role FROM users WHERE name=?", (name,))
        return User(rows[0]["name"], rows[0]["role"]) if rows else None

    def check_password(self, name: str, password: str) -> User | None:
        """The user when ``password`` is right; None otherwise (same cost for an unknown name)."""
        from argon2 import PasswordHasher
        from argon2.exceptions import InvalidHashError, VerificationError

        ph = PasswordHasher()
        row = next(iter(self._read("SELECT name, role, pw_hash FROM users WHERE name=?", (name,))), None)
        stored = row["pw_hash"] if row else ph.hash("not-a-user")  # spend the same time: no user probing
        try:
            ph.verify(stored, password or "")
        except (VerificationError, InvalidHashError):
            return None
        return User(row["name"], row["role"]) if row else None

    # API tokens ------------------------------------------------------------------------------
    def create_token(self, name: str, label: str | None = None) -> str:
        """A new token for user ``name`` (shown once; only its hash is kept)."""
        if self.user(name) is None:
            raise BadInput(f"用户 {name} 不存在：请先运行 qa user add {name} --role editor。")
        token = "qa_" + secrets.token_urlsafe(32)
        with closing(self._db()) as db:
            db.execute(
                "INSERT INTO tokens (user, token_hash, label, created_at) VALUES (?,?,?,?)",
                (name, _sha(token), label, time.time()),
            )
        self.audit("cli", "token.create", name, {"label": label})
        return token

    def token_user(self, token: str) -> User | None:
        rows = self._read(
            "SELECT t.id, t.last_used_at, u.name, u.role FROM tokens t JOIN users u ON u.name = t.user "
            "WHERE t.token_hash=?",
            (_sha(token),),
        )
        if not rows:
            return None
        now = time.time()
        if (rows[0]["last_used_at"] or 0) < now - USED_EVERY_S:
            with closing(self._db()) as db:
                db.execute("UPDATE tokens SET last_used_at=? WHERE id=?", (now, rows[0]["id"]))
        return User(rows[0]["name"], rows[0]["role"])

    def tokens(self, name: str | None = None) -> list[dict]:
        """Every token (of user ``name`` when given): id, user, label, created_at, last_used_at — never the token."""
        if name is not None:
            self.existing_user(name)
        where, args = ("WHERE user=?", (name,)) if name is not None else ("", ())
        rows = self._read(f"SELECT id, user, label, created_at, last_used_at FROM tokens {where} ORDER BY id", args)
        return [dict(r) for r in rows]

    def revoke_token(self, which: str, actor: str = "cli") -> dict:
        """Delete the token with id ``which``, or the one token labelled ``which``; returns it. Effective at once."""
        every = self.tokens()
        found = [t for t in every if str(t["id"]) == which.strip()] or [t for t in every if t["label"] == which]
        if not found:
            raise NotFound(f"没有编号或备注为 {which} 的令牌：用 qa token list 查看。")
        if len(found) > 1:
            ids = "、".join(str(t["id"]) for t in found)
            raise BadInput(f"备注为 {which} 的令牌有 {len(found)} 个（编号 {ids}）：请用编号指定要撤销的令牌。")
        with closing(self._db()) as db:
            db.execute("DELETE FROM tokens WHERE id=?", (found[0]["id"],))
        self.audit(actor, "token.revoke", found[0]["user"], {"id": found[0]["id"], "label": found[0]["label"]})
        return found[0]

    # browser sessions ------------------------------------------------------------------------
    def open_session(self, user: User) -> tuple[str, str]:
        """(session id for the cookie, CSRF token for the page)."""
        sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with closing(self._db()) as db:
            db.execute("DELETE FROM sessions WHERE expires_at < ?", (time.time(),))
            db.execute(
                "INSERT INTO sessions VALUES (?,?,?,?)", (_sha(sid), user.name, csrf, time.time() + SESSION_SECONDS)
            )
        return sid, csrf

    def session(self, sid: str) -> tuple[User, str] | None:
        """(user, CSRF token) of a live session, else None."""
        rows = self._read(
            "SELECT u.name, u.role, s.csrf FROM sessions s JOIN users u ON u.name = s.user "
            "WHERE s.sid_hash=? AND s.expires_at >= ?",
            (_sha(sid), time.time()),
        )
        return (User(rows[0]["name"], rows[0]["role"]), rows[0]["csrf"]) if rows else None

    def close_session(self, sid: str) -> None:
        with closing(self._db()) as db:
            db.execute("DELETE FROM sessions WHERE sid_hash=?", (_sha(sid),))

    # audit log -------------------------------------------------------------------------------
    def audit(self, actor: str, action: str, target: str | None = None, detail: dict | None = None) -> None:
        """One line of who did what to what, when; never updated or deleted by the program."""
        with closing(self._db()) as db:
            db.execute(
                "INSERT INTO audit (at, actor, action, target, detail) VALUES (?,?,?,?,?)",
                (time.time(), actor, action, target, json.dumps(detail or {}, ensure_ascii=False)),
            )

    def audit_log(self, limit: int = 200) -> list[dict]:
        rows = self._read("SELECT at, actor, action, target, detail FROM audit ORDER BY id DESC LIMIT ?", (limit,))
        return [{**dict(r), "detail": json.loads(r["detail"] or "{}")} for r in rows]
