"""Class mode's accounts: argon2 hashes only, a clear refusal for every bad input, and failed sign-ins slowed down."""
import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from core.classroom.accounts import (
    AccountBook,
    AccountError,
    Identity,
    SignInGuard,
    class_mode,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def book(tmp_path) -> AccountBook:
    return AccountBook(tmp_path / "accounts.json")


def test_the_accounts_file_switches_class_mode_on(book):
    assert not class_mode(book.path)
    book.add("alice", "correct horse")
    assert class_mode(book.path)


def test_a_password_is_stored_only_as_an_argon2_hash_readable_by_nobody_else(book):
    book.add("alice", "correct horse")
    text = book.path.read_text()
    assert "correct horse" not in text
    assert json.loads(text)["accounts"]["alice"]["hash"].startswith("$argon2id$")
    assert stat.S_IMODE(book.path.stat().st_mode) == 0o600


def test_sign_in_takes_the_right_password_only(book):
    book.add("alice", "correct horse")
    book.add("teach", "teacher pass", teacher=True)
    assert book.verify("alice", "correct horse") == Identity("alice", False)
    assert book.verify("Alice ", "correct horse") == Identity("alice", False)  # as people type names
    assert book.verify("teach", "teacher pass") == Identity("teach", True)
    assert book.verify("alice", "wrong horse") is None
    assert book.verify("nobody", "correct horse") is None
    assert book.verify("alice", "") is None


@pytest.mark.parametrize("name,password,message", [
    ("Alice", "long enough", "not an account name"),
    ("al ice", "long enough", "not an account name"),
    ("../x", "long enough", "not an account name"),
    ("", "long enough", "not an account name"),
    ("alice", "short", "at least 8 characters"),
])
def test_bad_names_and_short_passwords_are_refused(book, name, password, message):
    with pytest.raises(AccountError, match=message):
        book.add(name, password)
    assert not book.path.exists()


def test_an_existing_account_is_replaced_only_when_asked(book):
    book.add("alice", "first password")
    with pytest.raises(AccountError, match="has an account already"):
        book.add("alice", "second password")
    book.add("alice", "second password", replace=True)
    assert book.verify("alice", "second password") and not book.verify("alice", "first password")


def test_removing_an_account_and_a_damaged_file_say_what_is_wrong(book):
    book.add("alice", "first password")
    book.remove("alice")
    assert book.names() == []
    with pytest.raises(AccountError, match="no account called"):
        book.remove("alice")
    book.path.write_text("{not json")
    with pytest.raises(AccountError, match="damaged"):
        book.verify("alice", "first password")


def test_failed_sign_ins_wait_twice_as_long_each_time_and_a_success_clears_them(book):
    book.add("alice", "correct horse")
    now = [1000.0]
    guard = SignInGuard(clock=lambda: now[0])
    with pytest.raises(AccountError, match="do not match"):
        guard.sign_in(book, "alice", "wrong")
    assert guard.wait_s("alice") == pytest.approx(1.0)
    with pytest.raises(AccountError, match="try again in 1 s"):
        guard.sign_in(book, "alice", "correct horse")  # even the right password waits its turn
    now[0] += 1.0
    with pytest.raises(AccountError, match="do not match"):
        guard.sign_in(book, "alice", "wrong again")
    assert guard.wait_s("alice") == pytest.approx(2.0)
    now[0] += 2.0
    assert guard.sign_in(book, "alice", "correct horse") == Identity("alice")
    assert guard.wait_s("alice") == 0


def test_an_unknown_name_is_refused_and_slowed_exactly_like_a_known_one(book):
    book.add("alice", "correct horse")
    now = [0.0]
    guard = SignInGuard(clock=lambda: now[0])
    messages = []
    for name in ("alice", "mallory"):
        with pytest.raises(AccountError) as caught:
            guard.sign_in(book, name, "guess")
        messages.append(str(caught.value))
    assert messages[0] == messages[1]
    assert guard.wait_s("alice") == guard.wait_s("mallory") > 0


def test_the_cli_adds_lists_and_removes_accounts_reading_the_password_from_stdin(tmp_path):
    env = {"CIFAR10_ACCOUNTS": str(tmp_path / "accounts.json"), "PATH": ""}

    def cli(*args, stdin=""):
        return subprocess.run([sys.executable, "-m", "core", "accounts", *args, "--json"], input=stdin,
                              capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)

    added = cli("add", "teach", "--teacher", stdin="a long password\n")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout.splitlines()[-1]) == {"added": "teach", "teacher": True,
                                                          "file": str(tmp_path / "accounts.json")}
    assert AccountBook(tmp_path / "accounts.json").verify("teach", "a long password") == Identity("teach", True)
    refused = cli("add", "bob", stdin="short\n")
    assert refused.returncode == 2 and refused.stderr.strip() == "error: the password must have at least 8 characters"
    assert json.loads(cli("list").stdout.splitlines()[-1]) == {"accounts": [{"name": "teach", "teacher": True}]}
    assert cli("remove", "teach").returncode == 0
    assert json.loads(cli("list").stdout.splitlines()[-1]) == {"accounts": []}


def test_a_school_identity_is_the_same_account_as_its_password(book):
    book.add("ann", "ann's password", email="Ann@school.example")
    book.add("teach", "", teacher=True, email="teacher@school.example")  # the school's provider only
    assert book.by_email("ann@school.example") == book.verify("ann", "ann's password") == Identity("ann")
    assert book.by_email("teacher@school.example") == Identity("teach", True)
    assert book.verify("teach", "") is None  # no password: only the provider signs it in
    assert book.by_email("mallory@school.example") is None and book.by_email(None) is None
    with pytest.raises(AccountError, match="belongs to ann already"):
        book.add("bob", "bob's password", email="ann@school.example")
    with pytest.raises(AccountError, match="not an email address"):
        book.add("bob", "bob's password", email="bob")
    with pytest.raises(AccountError, match="at least 8 characters"):
        book.add("bob", "")  # neither a password nor a school identity
