"""`accounts`: class mode's accounts (adding the first one switches the server into class mode)."""
from __future__ import annotations

import getpass
import sys

from core.classroom.accounts import ACCOUNTS_FILE, AccountBook
from core.cli._common import CliError, add_json, say


def add_parser(subparsers) -> None:
    accounts = subparsers.add_parser("accounts", help="add, remove or list the accounts of class mode")
    actions = accounts.add_subparsers(dest="action", required=True, help="what to do with the accounts")
    add = actions.add_parser("add", help="add an account; the password is read from stdin (one line)")
    add.add_argument("name", help="the sign-in name: lower-case letters, digits, '.', '_' or '-'")
    add.add_argument("--teacher", action="store_true", help="sees every student's runs and the Class page")
    add.add_argument("--replace", action="store_true", help="set a new password for an existing account")
    add.add_argument("--email", help="the school identity's email: signs in through the school's OpenID Connect "
                                     "provider (st.login) too; with an empty password, only that way")
    remove = actions.add_parser("remove", help="remove an account (its runs stay, owned by the name)")
    remove.add_argument("name", help="the account's sign-in name")
    actions.add_parser("list", help="list the accounts")
    for parser in (add, remove, actions.choices["list"]):
        add_json(parser)
        parser.set_defaults(handler=cmd_accounts)


def read_password() -> str:
    """One line from stdin (a pipe, or typed without echo at a terminal); never from the command line, where every
    user of the machine could read it in the process list."""
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise CliError("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def cmd_accounts(args) -> dict:
    book = AccountBook()
    if args.action == "add":
        who = book.add(args.name, read_password(), args.teacher, args.replace, args.email)
        say(args, f"added {who.name}{' (teacher)' if who.teacher else ''} to {ACCOUNTS_FILE}: this server runs in "
                  "class mode")
        return {"added": who.name, "teacher": who.teacher, "file": str(ACCOUNTS_FILE)}
    if args.action == "remove":
        book.remove(args.name)
        say(args, f"removed {args.name}")
        return {"removed": args.name}
    listed = book.names()
    for name, teacher in listed:
        say(args, f"{name}{'  (teacher)' if teacher else ''}")
    return {"accounts": [{"name": name, "teacher": teacher} for name, teacher in listed]}
