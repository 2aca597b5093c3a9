"""Class mode's accounts: names, a teacher flag and argon2 password hashes in one JSON file, and the sign-in check.

The file's existence is what switches a server into class mode (`class_mode`); a personal install has none and never
imports this module's hasher. Passwords are never stored or logged: only argon2-cffi's encoded hash, which carries its
own salt and parameters."""
from __future__ import annotations

import json
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from core.errors import UserError
from core.storage import write_bytes_atomic

ACCOUNTS_FILE = Path(os.environ.get("CIFAR10_ACCOUNTS", "accounts.json"))
NAME = re.compile(r"^[a-z][a-z0-9._-]{0,31}$")  # lower case: a run's owner is compared as written
MIN_PASSWORD = 8  # characters
FORMAT_VERSION = 1


class AccountError(UserError):
    """An account that cannot be added, removed or read; the message says why."""


@dataclass(frozen=True)
class Identity:
    """Who is signed in. Personal mode has no identity at all (None), and sees everything."""
    name: str
    teacher: bool = False


def class_mode(path: Path | None = None) -> bool:
    """Whether this server runs a class: an accounts file exists."""
    return Path(path or ACCOUNTS_FILE).is_file()


def _hasher():
    from argon2 import PasswordHasher  # imported on use: personal mode never needs it

    return PasswordHasher()


def check_name(name: str) -> str:
    if not NAME.match(name or ""):
        raise AccountError(f"{name[:40]!r} is not an account name: 1-32 lower-case letters, digits, '.', '_' or '-', "
                           "starting with a letter")
    return name


class AccountBook:
    """The accounts file: {"v": 1, "accounts": {name: {"teacher": bool, "hash": argon2 encoded hash or absent,
    "email": the school identity's address or absent}}}. An account signs in with its password, or through the
    school's OpenID Connect provider (Streamlit's st.login) when its email matches; both give the same Identity."""

    def __init__(self, path: Path | None = None):
        self.path = Path(path or ACCOUNTS_FILE)
        self._lock = threading.Lock()

    def _read(self) -> dict[str, dict]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text())
            accounts = data["accounts"]
            if not isinstance(accounts, dict) or not all(
                    isinstance(a, dict) and isinstance(a.get("hash", ""), str) for a in accounts.values()):
                raise ValueError
        except (OSError, ValueError, KeyError, TypeError):
            raise AccountError(f"{self.path} is damaged (not an accounts file); restore it from a backup, or move it "
                               "away and add the accounts again") from None
        return accounts

    def _write(self, accounts: dict[str, dict]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(self.path, json.dumps({"v": FORMAT_VERSION, "accounts": accounts}, indent=2).encode())
        os.chmod(self.path, 0o600)  # hashes are not passwords, but nobody else needs to read them

    def names(self) -> list[tuple[str, bool]]:
        """(name, teacher) for every account, sorted by name."""
        return sorted((name, bool(a.get("teacher"))) for name, a in self._read().items())

    def add(self, name: str, password: str, teacher: bool = False, replace: bool = False,
            email: str | None = None) -> Identity:
        """An account with a password, or (given the school `email`) without one: it then signs in only through the
        school's provider."""
        check_name(name)
        if email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+", email):
            raise AccountError(f"{email[:60]!r} is not an email address")
        if (password or email is None) and len(password) < MIN_PASSWORD:
            raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
        with self._lock:
            accounts = self._read()
            if name in accounts and not replace:
                raise AccountError(f"{name} has an account already (add --replace to set a new password)")
            taken = [n for n, a in accounts.items() if email and n != name and a.get("email", "").lower() == email.lower()]
            if taken:
                raise AccountError(f"{email} belongs to {taken[0]} already")
            accounts[name] = {"teacher": teacher, **({"hash": _hasher().hash(password)} if password else {}),
                              **({"email": email} if email else {})}
            self._write(accounts)
        return Identity(name, teacher)

    def by_email(self, email: str | None) -> Identity | None:
        """The account a school identity (st.login's verified email) belongs to; None if none does."""
        if not email:
            return None
        for name, account in self._read().items():
            if account.get("email", "").lower() == email.lower():
                return Identity(name, bool(account.get("teacher")))
        return None

    def remove(self, name: str) -> None:
        with self._lock:
            accounts = self._read()
            if name not in accounts:
                raise AccountError(f"there is no account called {name[:40]!r}")
            del accounts[name]
            self._write(accounts)

    def verify(self, name: str, password: str) -> Identity | None:
        """The identity, if the password is right; None otherwise. An unknown name costs the same hash as a known
        one, so the time taken does not tell which names exist."""
        from argon2.exceptions import InvalidHashError, VerificationError

        account = self._read().get(name.strip().lower()) if isinstance(name, str) else None
        stored = account.get("hash") if account else None  # an account of the school's provider has none
        try:
            _hasher().verify(stored or _dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            return None
        return Identity(name.strip().lower(), bool(account.get("teacher"))) if stored else None


_DUMMY: list[str] = []


def _dummy_hash() -> str:
    if not _DUMMY:
        _DUMMY.append(_hasher().hash("not a password of anyone"))
    return _DUMMY[0]


# ----------------------------------------------------------------------------------------------------------------
# failed sign-ins are slowed down

FIRST_DELAY_S = 1.0  # after the first failure for a name; doubled after each further one
MAX_DELAY_S = 60.0


class SignInGuard:
    """Per name (known or not, so a refusal tells nothing): after each failed sign-in the next try for that name must
    wait, twice as long each time, up to a minute. A success clears it. One per server process."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._failures: dict[str, tuple[int, float]] = {}  # name -> (failures, earliest next try)
        self._lock = threading.Lock()

    def wait_s(self, name: str) -> float:
        """Seconds before this name may try again (0: now)."""
        with self._lock:
            _, allowed = self._failures.get(name.strip().lower(), (0, 0.0))
        return max(0.0, allowed - self._clock())

    def sign_in(self, book: AccountBook, name: str, password: str) -> Identity:
        """The identity, or AccountError saying the name or password is wrong, or how long to wait."""
        key = (name or "").strip().lower()
        wait = self.wait_s(key)
        if wait > 0:
            raise AccountError(f"too many failed sign-ins for this name: try again in {wait:.0f} s")
        identity = book.verify(key, password or "")
        with self._lock:
            if identity is None:
                failures = self._failures.get(key, (0, 0.0))[0] + 1
                delay = min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** (failures - 1))
                self._failures[key] = (failures, self._clock() + delay)
            else:
                self._failures.pop(key, None)
        if identity is None:
            raise AccountError("that name and password do not match an account")
        return identity
