"""User accounts and roles: who may look, who may upload, who manages accounts.

This module owns the account rules: valid names, the three roles and what each may do (:func:`has_role`),
password hashing (argon2id, :mod:`argon2`), checking a login in constant time (:func:`authenticate`) and reading a
password from a prompt or standard input (:func:`read_password`). Accounts are rows of the ``users`` table of
:class:`riskmodel.store.Store`; adding and removing them is recorded in the audit log.

Roles, each including the ones before it:

* ``viewer`` - sees datasets, results and scenarios, exports them;
* ``analyst`` - also uploads dataset versions, sets the active one, saves scenarios;
* ``admin`` - also manages user accounts and reads the audit log.

A failed login looks the same whatever the reason (unknown user, wrong password, malformed input): ``None``, after
the same argon2 verification work.
"""

from __future__ import annotations

import getpass
import re
import sys
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from riskmodel.store import AUDIT_LOG, USERS, Store, _now, _utc

__all__ = [
    "ACTIONS",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "NAME_PATTERN",
    "RESERVED_NAMES",
    "ROLES",
    "User",
    "UserError",
    "add_user",
    "authenticate",
    "check_name",
    "end_sessions",
    "failed_logins_since",
    "get_user",
    "has_role",
    "hash_password",
    "list_users",
    "read_password",
    "remove_user",
    "set_password",
    "set_role",
]

#: roles from least to most allowed; each may do everything the ones before it may
ROLES: tuple[str, ...] = ("viewer", "analyst", "admin")
#: each action and the least role allowed to do it
ACTIONS: dict[str, str] = {
    "view": "viewer",
    "export": "viewer",
    "upload": "analyst",
    "activate": "analyst",
    "scenario": "analyst",
    "manage_users": "admin",
    "audit": "admin",
}
#: 2-64 characters: lower-case letters, digits and ``. _ @ -``, starting with a letter or digit
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
MIN_PASSWORD_LENGTH = 8
#: names the audit log uses for actors that are not accounts: never account names, so entries stay unambiguous
RESERVED_NAMES = frozenset({"local", "system", "anonymous"})
MAX_PASSWORD_LENGTH = 1024

_hasher = PasswordHasher()  # argon2id, the library's defaults (RFC 9106 low-memory profile)
_dummy_hash: str | None = None


class UserError(ValueError):
    """A request about accounts that cannot be carried out: bad name, role or password, unknown or existing user."""


@dataclass(frozen=True)
class User:
    """An account as the application sees it (never with its password hash)."""

    name: str
    role: str
    created_at: datetime
    #: sessions started before this time are void (signed out everywhere, new password); None: all are valid
    sessions_after: datetime | None = None

    def session_valid(self, started: float) -> bool:
        """Whether a session started at ``started`` (seconds since the epoch) may still act for this account."""
        return self.sessions_after is None or started >= self.sessions_after.timestamp()

    def may(self, action: str) -> bool:
        """Shortcut for :func:`has_role` ``(self, action)``."""
        return has_role(self, action)


def check_name(name: object) -> str:
    """A valid user name, folded to lower case; raises :class:`UserError` otherwise.

    Examples
    --------
    >>> check_name(" Alice ")
    'alice'
    >>> check_name("a b")
    Traceback (most recent call last):
    ...
    riskmodel.users.UserError: invalid user name 'a b': use 2-64 of a-z 0-9 . _ @ - starting with a letter or digit
    """
    text = str(name if name is not None else "").strip().lower()
    if not NAME_PATTERN.fullmatch(text):
        shown = text if len(text) <= 40 else text[:39] + "…"
        raise UserError(f"invalid user name {shown!r}: use 2-64 of a-z 0-9 . _ @ - starting with a letter or digit")
    return text


def _check_role(role: object) -> str:
    text = str(role or "").strip().lower()
    if text not in ROLES:
        raise UserError(f"unknown role {role!r}: expected one of {', '.join(ROLES)}")
    return text


def _check_password(password: object) -> str:
    if not isinstance(password, str):
        raise UserError("the password must be text")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password is too short: use at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(f"the password is too long: at most {MAX_PASSWORD_LENGTH} characters")
    return password


def hash_password(password: str) -> str:
    """The argon2id hash of a password (salted: two calls give different hashes of the same password).

    Examples
    --------
    >>> h = hash_password("correct horse")
    >>> h.startswith("$argon2id$"), "correct horse" in h
    (True, False)
    """
    return _hasher.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def has_role(user: User | None, action: str) -> bool:
    """Whether ``user`` may do ``action`` (one of :data:`ACTIONS`); unknown actions and no user: ``False``.

    Examples
    --------
    >>> from datetime import datetime
    >>> viewer = User("vera", "viewer", datetime(2025, 1, 1))
    >>> has_role(viewer, "view"), has_role(viewer, "upload"), has_role(None, "view")
    (True, False, False)
    """
    if user is None or action not in ACTIONS or getattr(user, "role", None) not in ROLES:
        return False
    return ROLES.index(user.role) >= ROLES.index(ACTIONS[action])


def _store(store: Store | None) -> Store:
    return store if store is not None else Store()


def _user(row) -> User:
    after = row.get("sessions_after")
    return User(row["name"], row["role"], _utc(row["created_at"]), None if after is None else _utc(after))


def _actor_name(by: object) -> str:
    name = getattr(by, "name", by)
    return str(name or "system")[:64]


def add_user(name: str, role: str, password: str, *, store: Store | None = None, by: object = None) -> User:
    """Create an account.

    Parameters
    ----------
    name : str
        2-64 characters (see :data:`NAME_PATTERN`); stored in lower case.
    role : str
        ``viewer``, ``analyst`` or ``admin``.
    password : str
        At least :data:`MIN_PASSWORD_LENGTH` characters; only its argon2id hash is stored.
    store : Store, optional
        Default: ``Store()`` (the installation's database).
    by : str or User, optional
        Who does it, for the audit log (default ``"system"``, e.g. the command line).

    Raises
    ------
    UserError
        Invalid name, role or password, or the name is taken.

    Examples
    --------
    >>> add_user("alice", "analyst", "s3cret-pass", store=store)  # doctest: +SKIP
    User(name='alice', role='analyst', ...)
    """
    key, role = check_name(name), _check_role(role)
    if key in RESERVED_NAMES:
        raise UserError(f"user name {key!r} is reserved (the audit log uses it for {key} actions); choose another")
    password_hash = hash_password(_check_password(password))
    st = _store(store)
    now = _now()
    try:
        with st.begin(write=True) as conn:
            if conn.execute(sa.select(USERS.c.id).where(USERS.c.name == key)).first() is not None:
                raise UserError(f"user {key!r} already exists")
            conn.execute(USERS.insert().values(name=key, role=role, password_hash=password_hash, created_at=now,
                                               updated_at=now))
            st._audit(conn, _actor_name(by), "user.add", {"name": key, "role": role})
    except sa.exc.IntegrityError:  # added by someone else at the same moment
        raise UserError(f"user {key!r} already exists") from None
    return User(key, role, now)


def list_users(*, store: Store | None = None) -> list[User]:
    """Every account, by name.

    Examples
    --------
    >>> [(u.name, u.role) for u in list_users(store=store)]  # doctest: +SKIP
    [('alice', 'analyst'), ('root', 'admin')]
    """
    with _store(store).begin() as conn:
        rows = conn.execute(sa.select(USERS).order_by(USERS.c.name)).mappings().all()
    return [_user(r) for r in rows]


def get_user(name: str, *, store: Store | None = None) -> User | None:
    """The account of that name, or ``None``."""
    try:
        key = check_name(name)
    except UserError:
        return None
    with _store(store).begin() as conn:
        row = conn.execute(sa.select(USERS).where(USERS.c.name == key)).mappings().first()
    return None if row is None else _user(row)


def remove_user(name: str, *, store: Store | None = None, by: object = None) -> None:
    """Delete an account (what it did stays in the audit log and on its dataset versions).

    Raises :class:`UserError` when there is no such user.

    Examples
    --------
    >>> remove_user("alice", store=store)  # doctest: +SKIP
    """
    key = check_name(name)
    st = _store(store)
    with st.begin(write=True) as conn:
        if conn.execute(USERS.delete().where(USERS.c.name == key)).rowcount == 0:
            raise UserError(f"no user {key!r}")
        st._audit(conn, _actor_name(by), "user.remove", {"name": key})


def _update(name: str, values: dict, action: str, detail: dict, store: Store | None, by: object) -> None:
    key = check_name(name)
    st = _store(store)
    with st.begin(write=True) as conn:
        if conn.execute(USERS.update().where(USERS.c.name == key).values(updated_at=_now(), **values)).rowcount == 0:
            raise UserError(f"no user {key!r}")
        st._audit(conn, _actor_name(by), action, {"name": key, **detail})


def set_role(name: str, role: str, *, store: Store | None = None, by: object = None) -> None:
    """Change the role of an account (audited). Raises :class:`UserError` for an unknown user or role."""
    role = _check_role(role)
    _update(name, {"role": role}, "user.role", {"role": role}, store, by)


def set_password(name: str, password: str, *, store: Store | None = None, by: object = None) -> None:
    """Replace the password of an account (audited, without the password); its open sessions end.

    Raises :class:`UserError`.
    """
    _update(name, {"password_hash": hash_password(_check_password(password)), "sessions_after": _now()},
            "user.password", {}, store, by)


def end_sessions(name: str, *, store: Store | None = None, by: object = None) -> None:
    """Sign an account out everywhere: every session started before now is refused from now on (audited).

    Sessions are signed cookies kept by browsers, so this is how one is ended on the server: a copied cookie stops
    working too. Raises :class:`UserError` for an unknown user.

    Examples
    --------
    >>> end_sessions("alice", store=store)  # doctest: +SKIP
    """
    _update(name, {"sessions_after": _now()}, "user.sessions_ended", {}, store, by)


def authenticate(name: str, password: str, *, store: Store | None = None,
                 address: str | None = None) -> User | None:
    """The user when ``password`` is theirs, else ``None``: the same answer and work for an unknown user.

    The stored hash is checked by argon2 (constant-time comparison); for an unknown or malformed name a dummy hash
    is checked instead, so timing does not tell whether a name exists. Failures are recorded in the audit log as
    ``login.failed`` (with the name tried and the client ``address`` when given, never the password): the
    sign-in throttle counts them there (:func:`failed_logins_since`). Old hashes are upgraded on a successful login
    when the hashing parameters have changed.

    Examples
    --------
    >>> authenticate("alice", "wrong password", store=store) is None  # doctest: +SKIP
    True
    """
    global _dummy_hash
    st = _store(store)
    try:
        key = check_name(name)
    except UserError:
        key = None
    row = None
    if key is not None:
        with st.begin() as conn:
            row = conn.execute(sa.select(USERS).where(USERS.c.name == key)).mappings().first()
    if _dummy_hash is None:
        _dummy_hash = hash_password("no such user: dummy password")
    usable = isinstance(password, str) and 0 < len(password) <= MAX_PASSWORD_LENGTH
    candidate = password if usable else "\x00invalid"
    ok = _verify(row["password_hash"] if row is not None else _dummy_hash, candidate)
    if not (ok and usable and row is not None):
        shown = (key or str(name))[:64] if name is not None else ""
        detail = {"name": shown} if address is None else {"name": shown, "address": str(address)[:64]}
        st.audit("anonymous", "login.failed", detail)
        return None
    if _hasher.check_needs_rehash(row["password_hash"]):
        with st.begin(write=True) as conn:
            conn.execute(USERS.update().where(USERS.c.name == key).values(password_hash=hash_password(password)))
    return _user(row)


def failed_logins_since(since: datetime, *, store: Store | None = None,
                        limit: int = 10_000) -> list[tuple[str, str]]:
    """``(name tried, client address)`` of the failed sign-ins recorded since ``since`` (newest first, at most
    ``limit``).

    Read from the audit log, so every process serving one database sees the same failures.

    Examples
    --------
    >>> failed_logins_since(datetime.now(UTC) - timedelta(minutes=15), store=store)  # doctest: +SKIP
    [('alice', '10.0.0.7')]
    """
    query = (sa.select(AUDIT_LOG.c.detail).where(AUDIT_LOG.c.action == "login.failed", AUDIT_LOG.c.at >= since)
             .order_by(AUDIT_LOG.c.id.desc()).limit(int(limit)))
    with _store(store).begin() as conn:
        details = conn.execute(query).scalars().all()
    return [(str(d.get("name", "")), str(d.get("address", ""))) for d in details if isinstance(d, dict)]


def read_password(stream: TextIO | None = None, prompt: str = "Password: ", *, confirm: bool = False) -> str:
    """A password from a prompt (when ``stream`` is a terminal, via :mod:`getpass`: not echoed) or one line of it.

    Parameters
    ----------
    stream : file-like, optional
        Default ``sys.stdin``. When it is not a TTY its first line is the password (end of line removed), so
        ``printf '%s\\n' "$PW" | riskmodel user add NAME --role analyst`` works in scripts.
    prompt : str
        Shown on the terminal.
    confirm : bool
        On a terminal, ask twice and require the same answer.

    Raises
    ------
    UserError
        No password given (empty line or end of input), or the two answers differ.

    Examples
    --------
    >>> import io
    >>> read_password(io.StringIO("s3cret pass\\nrest\\n"))
    's3cret pass'
    """
    stream = sys.stdin if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    if callable(isatty) and isatty():
        password = getpass.getpass(prompt)
        if confirm and getpass.getpass("Repeat the password: ") != password:
            raise UserError("the two passwords differ")
    else:
        line = stream.readline()
        password = line[:-1] if line.endswith("\n") else line
        password = password[:-1] if password.endswith("\r") else password
    if not password:
        raise UserError("no password given")
    return password
