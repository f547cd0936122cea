"""user: dashboard accounts in the state store (add, list, passwd, remove, token)."""
from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Optional

from . import load_or_report

ROLES = ("admin", "operator", "viewer", "partner")


def configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("file", help="YAML config file")
        sp.add_argument("--base-dir", type=Path, default=None,
                        help="directory that relative paths in the config are taken from (default: cwd)")

    a = sub.add_parser("add", help="add a user (asks for the password, or reads it from "
                                   "$HOTSPOT_PASSWORD / --password-stdin)")
    common(a)
    a.add_argument("username")
    a.add_argument("--role", choices=ROLES, required=True)
    a.add_argument("--partner", help="partner id from the config (role partner)")
    a.add_argument("--locale", choices=["id", "en"])
    a.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    ls = sub.add_parser("list", help="list users and API tokens")
    common(ls)
    pw = sub.add_parser("passwd", help="set a user's password (ends the user's sessions)")
    common(pw)
    pw.add_argument("username")
    pw.add_argument("--password-stdin", action="store_true")
    rm = sub.add_parser("remove", help="remove a user and the user's API tokens")
    common(rm)
    rm.add_argument("username")
    tk = sub.add_parser("token", help="create an API token for a user (printed once)")
    common(tk)
    tk.add_argument("username")
    tk.add_argument("--name", default="api", help="what the token is for")
    tk.add_argument("--role", choices=ROLES, help="a role at most the user's (default: the user's)")


def _password(args: argparse.Namespace) -> Optional[str]:
    if getattr(args, "password_stdin", False):
        return sys.stdin.readline().rstrip("\n")
    env = os.environ.get("HOTSPOT_PASSWORD")
    if env:
        return env
    if not sys.stdin.isatty():
        print("no password: give it on a terminal, in $HOTSPOT_PASSWORD or with --password-stdin",
              file=sys.stderr)
        return None
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        print("the passwords differ", file=sys.stderr)
        return None
    return first


def main(args: argparse.Namespace) -> int:
    cfg = load_or_report(args.file)
    if cfg is None:
        return 2
    from dashboard.accounts import AccountError, Accounts
    from ..status.statestore import StateStore

    base = (args.base_dir or Path.cwd()).resolve()
    try:
        states = StateStore.from_config(cfg, base)
    except Exception as e:  # the URL may hold a password: name only the kind of error
        print(f"hotspot-monitor user: state store unusable: {type(e).__name__}", file=sys.stderr)
        return 1
    acc = Accounts(states.engine, partners=tuple(p.id for p in cfg.partners))
    try:
        if args.action == "add":
            pw = _password(args)
            if pw is None:
                return 2
            u = acc.add_user(args.username, pw, args.role, partner=args.partner, locale=args.locale)
            print(f"added {u.username} ({u.role}{': ' + u.partner if u.partner else ''})")
        elif args.action == "passwd":
            pw = _password(args)
            if pw is None:
                return 2
            acc.set_password(args.username, pw)
            print(f"password of {args.username} changed; its sessions are ended")
        elif args.action == "remove":
            acc.remove(args.username)
            print(f"removed {args.username}")
        elif args.action == "token":
            token = acc.create_token(args.username, args.name, args.role)
            print(token)
            print("(shown once: only its hash is stored)", file=sys.stderr)
        else:
            rows = [(u.username, u.role, u.partner or "", u.last_login.isoformat(timespec="seconds")
                     if u.last_login else "never") for u in acc.list()]
            head = ("USER", "ROLE", "PARTNER", "LAST LOGIN")
            widths = [max(len(x) for x in col) for col in zip(head, *rows)]
            for r in [head, *rows]:
                print("  ".join(f"{x:<{w}}" for x, w in zip(r, widths)).rstrip())
            toks = acc.list_tokens()
            if toks:
                print()
                for t in toks:
                    print(f"token {t.id}: {t.username} {t.name!r} role {t.role}, last used "
                          f"{t.last_used.isoformat(timespec='seconds') if t.last_used else 'never'}")
    except AccountError as e:
        print(f"hotspot-monitor user {args.action}: {e}", file=sys.stderr)
        return 1
    finally:
        states.close()
    return 0
