"""Dashboard accounts: users, roles, API tokens and outage notes, in the state store's DB.

Own tables on the state store's SQLAlchemy engine (same URL: SQLite or
PostgreSQL), created if missing. Passwords are hashed with werkzeug's scrypt
(a memory-hard KDF, salted, parameters stored with the hash). API tokens are
long random strings: only their SHA-256 is stored (a KDF is not needed for
256 random bits) and the plaintext is shown once. Each user row carries a
``session_token`` that Flask-Login puts in the session cookie: changing the
password or removing the user rotates it, which logs out every session.

Login throttling is per account, in the table (so it holds across processes
and restarts): after ``attempts`` wrong passwords in a row the account is
locked for ``lockout_s``, and while locked the password is not even checked.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

from sqlalchemy import (Column, DateTime, Integer, MetaData, String, Table, Text, delete, func,
                        insert, select, update)
from sqlalchemy.engine import Engine
from werkzeug.security import check_password_hash, generate_password_hash

from hotspot_monitor.sample import utc

ROLES = ("admin", "operator", "viewer", "partner")
# What each role may do; pages and API endpoints ask for a permission, never a role.
# view_alert_setup: silences, maintenance and channels; manage_alerts: acknowledge,
# silence, expire, send a test message; manage_reports: regenerate and resend monthly reports;
# handle_citizen_reports: the citizens' report queue (sees reporters' contacts), forward to the partner.
PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({"view_all", "view_health", "annotate", "manage_users", "view_alert_setup",
                        "manage_alerts", "manage_reports", "handle_citizen_reports"}),
    "operator": frozenset({"view_all", "view_health", "annotate", "view_alert_setup", "manage_alerts",
                           "manage_reports", "handle_citizen_reports"}),
    "viewer": frozenset({"view_all", "view_health", "view_alert_setup"}),
    "partner": frozenset(),  # read-only, and only the partner's own sites
}
MIN_PASSWORD = 10
USERNAME_MAX = 64

metadata = MetaData()
users = Table(
    "web_users", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(USERNAME_MAX), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("partner", String(255), nullable=True),
    Column("locale", String(8), nullable=True),
    Column("session_token", String(64), nullable=False, unique=True),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", DateTime, nullable=True),
    Column("created", DateTime, nullable=False),
    Column("last_login", DateTime, nullable=True),
)
tokens = Table(
    "web_api_tokens", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, nullable=False, index=True),
    Column("name", String(128), nullable=False),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("created", DateTime, nullable=False),
    Column("last_used", DateTime, nullable=True),
)
notes = Table(
    "web_outage_notes", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("outage_id", Integer, nullable=False, index=True),
    Column("author", String(USERNAME_MAX), nullable=False),
    Column("text", Text, nullable=False),
    Column("at", DateTime, nullable=False),
)
# a hash to check against when the username is unknown, so that the answer
# takes as long as for a real account (no user enumeration by timing)
_DUMMY_HASH = generate_password_hash(secrets.token_hex(16))


class AccountError(ValueError):
    """A request to change accounts that cannot be done (message fit for users)."""


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    role: str
    partner: Optional[str]
    locale: Optional[str]
    session_token: str
    last_login: Optional[datetime]

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())


@dataclass(frozen=True, slots=True)
class LoginResult:
    user: Optional[User]
    locked_until: Optional[datetime] = None  # set when the account is (now) locked


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: int
    user_id: int
    username: str
    name: str
    role: str
    created: datetime
    last_used: Optional[datetime]


@dataclass(frozen=True, slots=True)
class Note:
    id: int
    outage_id: int
    author: str
    text: str
    at: datetime


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _naive(t: Optional[datetime]) -> Optional[datetime]:
    return None if t is None else utc(t).replace(tzinfo=None)


def _aware(t: Optional[datetime]) -> Optional[datetime]:
    return None if t is None else utc(t)


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password must be at least {MIN_PASSWORD} characters")


def _user(r) -> User:
    return User(r["id"], r["username"], r["role"], r["partner"], r["locale"], r["session_token"],
                _aware(r["last_login"]))


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    """Repository over the account tables; each method is one short transaction."""

    def __init__(self, engine: Engine, *, attempts: int = 5, lockout_s: float = 300.0,
                 partners: tuple[str, ...] = ()):
        self.engine = engine
        self.attempts = attempts
        self.lockout = timedelta(seconds=lockout_s)
        self.partners = partners
        metadata.create_all(engine)

    # -- users ---------------------------------------------------------------
    def add_user(self, username: str, password: str, role: str, *, partner: Optional[str] = None,
                 locale: Optional[str] = None) -> User:
        username = username.strip()
        if not username or len(username) > USERNAME_MAX or any(c.isspace() for c in username):
            raise AccountError("username must be 1-64 characters without spaces")
        self._check_role(role, partner)
        check_password_policy(password)
        with self.engine.begin() as c:
            if c.execute(select(users.c.id).where(users.c.username == username)).first():
                raise AccountError(f"user {username!r} exists already")
            c.execute(insert(users).values(
                username=username, password_hash=generate_password_hash(password), role=role,
                partner=partner if role == "partner" else None, locale=locale,
                session_token=secrets.token_hex(32), failed_logins=0, created=_naive(_now())))
        return self.get(username)  # type: ignore[return-value]

    def _check_role(self, role: str, partner: Optional[str]) -> None:
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}")
        if role == "partner":
            if not partner:
                raise AccountError("a partner user needs --partner (a partner id from the config)")
            if self.partners and partner not in self.partners:
                raise AccountError(f"unknown partner {partner!r} (config partners: "
                                   f"{', '.join(self.partners) or 'none'})")
        elif partner:
            raise AccountError("--partner is only for the partner role")

    def get(self, username: str) -> Optional[User]:
        with self.engine.connect() as c:
            r = c.execute(select(users).where(users.c.username == username)).mappings().first()
        return None if r is None else _user(r)

    def by_session_token(self, token: str) -> Optional[User]:
        with self.engine.connect() as c:
            r = c.execute(select(users).where(users.c.session_token == token)).mappings().first()
        return None if r is None else _user(r)

    def list(self) -> list[User]:
        with self.engine.connect() as c:
            return [_user(r) for r in c.execute(select(users).order_by(users.c.username)).mappings()]

    def count(self) -> int:
        with self.engine.connect() as c:
            return int(c.execute(select(func.count()).select_from(users)).scalar() or 0)

    def set_password(self, username: str, password: str) -> None:
        check_password_policy(password)
        with self.engine.begin() as c:
            n = c.execute(update(users).where(users.c.username == username).values(
                password_hash=generate_password_hash(password), session_token=secrets.token_hex(32),
                failed_logins=0, locked_until=None)).rowcount
        if not n:
            raise AccountError(f"no user {username!r}")

    def set_locale(self, user_id: int, locale: str) -> None:
        with self.engine.begin() as c:
            c.execute(update(users).where(users.c.id == user_id).values(locale=locale))

    def set_role(self, username: str, role: str, partner: Optional[str] = None) -> None:
        self._check_role(role, partner)
        with self.engine.begin() as c:
            n = c.execute(update(users).where(users.c.username == username).values(
                role=role, partner=partner if role == "partner" else None,
                session_token=secrets.token_hex(32))).rowcount
        if not n:
            raise AccountError(f"no user {username!r}")

    def remove(self, username: str) -> None:
        with self.engine.begin() as c:
            uid = c.execute(select(users.c.id).where(users.c.username == username)).scalar()
            if uid is None:
                raise AccountError(f"no user {username!r}")
            c.execute(delete(tokens).where(tokens.c.user_id == uid))
            c.execute(delete(users).where(users.c.id == uid))

    # -- login -----------------------------------------------------------------
    def login(self, username: str, password: str, now: Optional[datetime] = None) -> LoginResult:
        """Check a password, with the per-account lockout; never says which part was wrong."""
        now = utc(now or _now())
        with self.engine.connect() as c:
            r = c.execute(select(users).where(users.c.username == username)).mappings().first()
        if r is None:
            check_password_hash(_DUMMY_HASH, password)
            return LoginResult(None)
        locked = _aware(r["locked_until"])
        if locked is not None and locked > now:
            return LoginResult(None, locked)
        if check_password_hash(r["password_hash"], password):
            with self.engine.begin() as c:
                c.execute(update(users).where(users.c.id == r["id"]).values(
                    failed_logins=0, locked_until=None, last_login=_naive(now)))
            return LoginResult(_user(r))
        failed = int(r["failed_logins"] or 0) + 1
        until = now + self.lockout if failed >= self.attempts else None
        with self.engine.begin() as c:
            c.execute(update(users).where(users.c.id == r["id"]).values(
                failed_logins=0 if until else failed, locked_until=_naive(until)))
        return LoginResult(None, until)

    # -- API tokens --------------------------------------------------------------
    def create_token(self, username: str, name: str, role: Optional[str] = None) -> str:
        """A new token for ``username`` (plaintext returned once). Its role is the
        user's or a lower one, and a partner's token sees only that partner's sites."""
        u = self.get(username)
        if u is None:
            raise AccountError(f"no user {username!r}")
        role = role or u.role
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}")
        if u.role == "partner" and role != "partner" or (
                role != "partner" and not PERMISSIONS[role] <= PERMISSIONS[u.role]):
            raise AccountError(f"a {u.role} cannot create a {role} token")
        if role == "partner" and u.role != "partner":
            raise AccountError("partner tokens belong to partner users")
        plain = "hm_" + secrets.token_urlsafe(32)
        with self.engine.begin() as c:
            c.execute(insert(tokens).values(user_id=u.id, name=name[:128] or "token",
                                            token_sha256=token_digest(plain), role=role,
                                            created=_naive(_now())))
        return plain

    def token_user(self, plain: str) -> Optional[tuple[User, str]]:
        """The user behind a token and the token's role, or None."""
        digest = token_digest(plain)
        with self.engine.connect() as c:
            t = c.execute(select(tokens).where(tokens.c.token_sha256 == digest)).mappings().first()
            if t is None:
                return None
            r = c.execute(select(users).where(users.c.id == t["user_id"])).mappings().first()
        if r is None:
            return None
        now = _now()
        last = _aware(t["last_used"])
        if last is None or now - last > timedelta(minutes=1):  # not a write per API call
            with self.engine.begin() as c:
                c.execute(update(tokens).where(tokens.c.id == t["id"]).values(last_used=_naive(now)))
        return _user(r), t["role"]

    def list_tokens(self, username: Optional[str] = None) -> list[TokenInfo]:
        q = select(tokens, users.c.username).join(users, users.c.id == tokens.c.user_id)
        if username is not None:
            q = q.where(users.c.username == username)
        with self.engine.connect() as c:
            return [TokenInfo(r["id"], r["user_id"], r["username"], r["name"], r["role"],
                              _aware(r["created"]), _aware(r["last_used"]))
                    for r in c.execute(q.order_by(tokens.c.id)).mappings()]

    def revoke_token(self, token_id: int) -> bool:
        with self.engine.begin() as c:
            return bool(c.execute(delete(tokens).where(tokens.c.id == token_id)).rowcount)

    # -- outage notes --------------------------------------------------------------
    def add_note(self, outage_id: int, author: str, text: str) -> Note:
        text = text.strip()
        if not text:
            raise AccountError("empty note")
        at = _now()
        with self.engine.begin() as c:
            res = c.execute(insert(notes).values(outage_id=outage_id, author=author,
                                                 text=text[:2000], at=_naive(at)))
            nid = int(res.inserted_primary_key[0])
        return Note(nid, outage_id, author, text[:2000], at)

    def notes(self, outage_ids: list[int]) -> dict[int, list[Note]]:
        out: dict[int, list[Note]] = {}
        if not outage_ids:
            return out
        with self.engine.connect() as c:
            for i in range(0, len(outage_ids), 500):
                q = select(notes).where(notes.c.outage_id.in_(outage_ids[i:i + 500])).order_by(notes.c.at)
                for r in c.execute(q).mappings():
                    out.setdefault(r["outage_id"], []).append(
                        Note(r["id"], r["outage_id"], r["author"], r["text"], _aware(r["at"])))
        return out


def generate_password() -> str:
    """A password for the demo's admin: 20 URL-safe characters (~120 bits)."""
    return secrets.token_urlsafe(15)
