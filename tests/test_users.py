"""User accounts (riskmodel.users) on SQLite and PostgreSQL: names, roles, password hashing, logins, prompts.

PostgreSQL comes from ``RISKMODEL_TEST_POSTGRES_URL`` as in ``test_store.py`` (skipped locally without it).
"""

from __future__ import annotations

import io
import threading

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from test_store import backend_url

from riskmodel import users
from riskmodel.store import USERS, Store
from riskmodel.users import (
    ROLES,
    User,
    UserError,
    add_user,
    authenticate,
    check_name,
    end_sessions,
    get_user,
    has_role,
    hash_password,
    list_users,
    read_password,
    remove_user,
    set_password,
    set_role,
)

PASSWORD = "correct horse battery"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    url, cleanup = backend_url(request.param, tmp_path)
    s = Store(url)
    yield s
    s.close()
    cleanup()


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch):
    """Cheap argon2 parameters in tests (the production ones cost about 0.1 s a hash, on purpose)."""
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    monkeypatch.setattr(users, "_dummy_hash", None)


def test_production_hashing_parameters_are_strong(monkeypatch):
    monkeypatch.undo()  # the hasher riskmodel.users uses outside tests (argon2-cffi's RFC 9106 defaults)
    hasher = users._hasher
    assert hasher.type.name == "ID" and hasher.memory_cost >= 19 * 1024 and hasher.time_cost >= 2  # OWASP minimums
    assert hash_password(PASSWORD).startswith("$argon2id$")


def stored_hash(store: Store, name: str) -> str:
    with store.begin() as conn:
        return conn.execute(sa.select(USERS.c.password_hash).where(USERS.c.name == name)).scalar_one()


# ---------------------------------------------------------------------------------------------- accounts
def test_add_list_remove(store):
    assert list_users(store=store) == []
    a = add_user("Alice", "analyst", PASSWORD, store=store, by="root")
    add_user("bob.smith@example.com", "viewer", PASSWORD, store=store)
    add_user("root", "ADMIN", PASSWORD, store=store)
    assert (a.name, a.role) == ("alice", "analyst")
    assert [(u.name, u.role) for u in list_users(store=store)] == [
        ("alice", "analyst"), ("bob.smith@example.com", "viewer"), ("root", "admin")]
    assert get_user("ALICE", store=store) == a
    remove_user("alice", store=store, by="root")
    assert [u.name for u in list_users(store=store)] == ["bob.smith@example.com", "root"]
    assert get_user("alice", store=store) is None and get_user("not valid!", store=store) is None
    with pytest.raises(UserError, match="no user 'alice'"):
        remove_user("alice", store=store)
    log = [(e.user, e.action, e.detail) for e in store.audit_log(limit=10)]
    assert log[0] == ("root", "user.remove", {"name": "alice"})
    assert ("root", "user.add", {"name": "alice", "role": "analyst"}) in log
    assert ("system", "user.add", {"name": "root", "role": "admin"}) in log
    assert all(PASSWORD not in str(entry) for entry in log)


@pytest.mark.parametrize("name", ["", "a", "x" * 65, "has space", "semi;colon", "-leading", "../etc", "名前",
                                  "tab\tname", None])
def test_bad_names_are_refused(store, name):
    with pytest.raises(UserError, match="invalid user name"):
        add_user(name, "viewer", PASSWORD, store=store)
    assert list_users(store=store) == []


@pytest.mark.parametrize("name", ["local", "System", " anonymous "])
def test_reserved_names_cannot_be_accounts(store, name):
    # the audit log names these actors (local use, the server, failed sign-ins): an account of that name would blur it
    with pytest.raises(UserError, match="reserved"):
        add_user(name, "admin", PASSWORD, store=store)
    assert list_users(store=store) == []


def test_name_rules():
    assert check_name("ab") == "ab"
    assert check_name("x" * 64) == "x" * 64
    assert check_name(" Jane.Doe-2_x@corp ") == "jane.doe-2_x@corp"


def test_taken_names_bad_roles_and_weak_passwords_are_refused(store):
    add_user("alice", "analyst", PASSWORD, store=store)
    with pytest.raises(UserError, match="already exists"):
        add_user("ALICE", "viewer", PASSWORD, store=store)
    with pytest.raises(UserError, match="unknown role"):
        add_user("bob", "superuser", PASSWORD, store=store)
    with pytest.raises(UserError, match="too short"):
        add_user("bob", "viewer", "short", store=store)
    with pytest.raises(UserError, match="too long"):
        add_user("bob", "viewer", "x" * 2000, store=store)
    with pytest.raises(UserError, match="text"):
        add_user("bob", "viewer", None, store=store)
    assert [u.name for u in list_users(store=store)] == ["alice"]


def test_same_name_added_twice_at_once_gives_one_account(store):
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def add():
        barrier.wait(timeout=30)
        try:
            add_user("carol", "viewer", PASSWORD, store=store)
            outcomes.append("ok")
        except UserError:
            outcomes.append("taken")

    threads = [threading.Thread(target=add) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["ok", "taken"]
    assert [u.name for u in list_users(store=store)] == ["carol"]


def test_set_role_and_password(store):
    add_user("alice", "viewer", PASSWORD, store=store)
    set_role("alice", "admin", store=store, by="root")
    assert get_user("alice", store=store).role == "admin"
    set_password("alice", "a whole new password", store=store)
    assert authenticate("alice", PASSWORD, store=store) is None
    assert authenticate("alice", "a whole new password", store=store).role == "admin"
    with pytest.raises(UserError):
        set_role("nobody", "viewer", store=store)
    with pytest.raises(UserError):
        set_role("alice", "owner", store=store)
    assert [e.action for e in store.audit_log(limit=3)][1:] == ["user.password", "user.role"]


def test_ending_sessions_voids_those_started_before(store):
    import time

    add_user("alice", "analyst", PASSWORD, store=store)
    before = time.time()
    assert get_user("alice", store=store).sessions_after is None
    assert get_user("alice", store=store).session_valid(before)
    end_sessions("alice", store=store, by="root")
    user = get_user("alice", store=store)
    assert not user.session_valid(before) and user.session_valid(time.time())
    assert store.audit_log(limit=1)[0].action == "user.sessions_ended"
    # a new password ends them too
    started = time.time()
    set_password("alice", "a whole new password", store=store)
    assert not get_user("alice", store=store).session_valid(started)
    with pytest.raises(UserError):
        end_sessions("nobody", store=store)


def test_migration_0002_keeps_accounts_made_before_it(store_url_at_0001):
    # an installation made before sign-out everywhere existed: its accounts survive the upgrade, with valid sessions
    url = store_url_at_0001
    with Store(url) as st:
        user = get_user("old", store=st)
        assert user is not None and user.sessions_after is None and user.session_valid(0.0)
        assert authenticate("old", PASSWORD, store=st).name == "old"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url_at_0001(request, tmp_path):
    """A database at migration 0001 with one account, as an earlier release left it."""
    from datetime import UTC, datetime

    from alembic import command
    from alembic.config import Config

    from riskmodel.store import MIGRATIONS_DIR

    url, cleanup = backend_url(request.param, tmp_path)
    with Store(url, migrate=False) as st:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        with st.begin(write=True) as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0001")
            now = datetime.now(UTC)
            conn.execute(sa.text("INSERT INTO users (name, role, password_hash, created_at, updated_at) "
                                 "VALUES (:n, 'analyst', :h, :t, :t)"),
                         {"n": "old", "h": hash_password(PASSWORD), "t": now})
    yield url
    cleanup()


# ---------------------------------------------------------------------------------------------- passwords
def test_passwords_are_stored_as_salted_argon2_hashes(store):
    add_user("alice", "viewer", PASSWORD, store=store)
    add_user("bob", "viewer", PASSWORD, store=store)
    a, b = stored_hash(store, "alice"), stored_hash(store, "bob")
    assert a.startswith("$argon2id$") and PASSWORD not in a
    assert a != b  # salted
    assert not hasattr(User, "password_hash")


def test_login(store):
    add_user("alice", "analyst", PASSWORD, store=store)
    user = authenticate("Alice", PASSWORD, store=store)
    assert user == get_user("alice", store=store)
    assert user.may("upload") and not user.may("manage_users")


def test_wrong_password_and_unknown_user_fail_the_same_way(store, monkeypatch):
    add_user("alice", "analyst", PASSWORD, store=store)
    calls: list[str] = []

    class CountingHasher(PasswordHasher):
        def verify(self, password_hash, password):
            calls.append(password_hash[:10])
            return super().verify(password_hash, password)

    monkeypatch.setattr(users, "_hasher", CountingHasher())
    outcomes = {}
    for label, name, password in [("wrong password", "alice", "wrong password!"), ("unknown user", "mallory", PASSWORD),
                                  ("malformed name", "no such; user", PASSWORD), ("empty password", "alice", ""),
                                  ("no password", "alice", None), ("huge password", "alice", "x" * 5000)]:
        calls.clear()
        outcomes[label] = authenticate(name, password, store=store)
        assert calls == ["$argon2id$"], label  # one full argon2 verification whatever the reason
    assert set(outcomes.values()) == {None}
    failed = store.audit_log(action="login.failed")
    assert {e.user for e in failed} == {"anonymous"}
    assert {e.detail["name"] for e in failed} >= {"alice", "mallory"}


def test_removed_users_cannot_log_in(store):
    add_user("alice", "analyst", PASSWORD, store=store)
    remove_user("alice", store=store)
    assert authenticate("alice", PASSWORD, store=store) is None


def test_outdated_hashes_are_upgraded_on_login(store, monkeypatch):
    add_user("alice", "viewer", PASSWORD, store=store)
    before = stored_hash(store, "alice")
    class Outdated(PasswordHasher):
        def check_needs_rehash(self, password_hash):
            return True

    monkeypatch.setattr(users, "_hasher", Outdated())
    assert authenticate("alice", PASSWORD, store=store) is not None
    after = stored_hash(store, "alice")
    assert after != before and after.startswith("$argon2id$")
    monkeypatch.undo()
    assert authenticate("alice", PASSWORD, store=store) is not None


# ---------------------------------------------------------------------------------------------- roles
def test_roles_and_actions():
    viewer, analyst, admin = (User(n, r, None) for n, r in zip(("v", "an", "ad"), ROLES, strict=True))
    assert not has_role(viewer, "upload") and not has_role(viewer, "scenario") and not has_role(viewer, "activate")
    assert has_role(viewer, "view") and has_role(viewer, "export")
    assert has_role(analyst, "upload") and has_role(analyst, "scenario") and not has_role(analyst, "manage_users")
    assert all(has_role(admin, a) for a in users.ACTIONS)
    assert not has_role(None, "view")
    assert not has_role(admin, "launch missiles")
    assert not has_role(User("x", "owner", None), "view")


# ---------------------------------------------------------------------------------------------- prompts
class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_read_password_from_a_pipe():
    assert read_password(io.StringIO("s3cret pass \nsecond line\n")) == "s3cret pass "
    assert read_password(io.StringIO("windows\r\n")) == "windows"
    assert read_password(io.StringIO("no newline")) == "no newline"
    for empty in ("", "\n", "\r\n"):
        with pytest.raises(UserError, match="no password"):
            read_password(io.StringIO(empty))


def test_read_password_prompts_on_a_terminal(monkeypatch):
    answers = iter(["typed secret", "typed secret", "first", "second"])
    prompts: list[str] = []

    def fake_getpass(prompt="Password: "):
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr(users.getpass, "getpass", fake_getpass)
    assert read_password(_Tty(), "New password: ", confirm=True) == "typed secret"
    assert prompts == ["New password: ", "Repeat the password: "]
    with pytest.raises(UserError, match="differ"):
        read_password(_Tty(), confirm=True)


def test_read_password_defaults_to_stdin(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("from stdin\n"))
    assert read_password() == "from stdin"
