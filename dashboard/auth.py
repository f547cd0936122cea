"""Who is asking, and what they may see: sessions (Flask-Login), API tokens, scopes.

Pages use :func:`page` (anonymous visitors are sent to the login page); the
API uses :func:`api` (anonymous callers get 401 JSON). Both resolve one
:class:`Principal` per request: the user, the role in force (an API token's
role may be lower than its owner's) and the scope of sites it may see.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, Optional

from flask import abort, current_app, g, jsonify, redirect, request, url_for
from flask_login import LoginManager, UserMixin, current_user

from .accounts import PERMISSIONS, Accounts, User
from .fleet import Scope

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.session_protection = "basic"


class SessionUser(UserMixin):
    """Flask-Login's view of a user: the id in the cookie is the user's session
    token, so a password change or removal ends every session at once."""

    def __init__(self, user: User):
        self.user = user

    def get_id(self) -> str:
        return self.user.session_token


@login_manager.user_loader
def _load(token: str) -> Optional[SessionUser]:
    u = accounts().by_session_token(token)
    return None if u is None else SessionUser(u)


@login_manager.unauthorized_handler
def _unauthorized() -> Any:
    if request.blueprint == "api":
        return api_unauthorized()
    return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))


def api_unauthorized() -> Any:
    r = jsonify(error="unauthorized", message="log in or send 'Authorization: Bearer <token>'")
    r.status_code = 401
    r.headers["WWW-Authenticate"] = 'Bearer realm="hotspot-monitor"'
    return r


@dataclass(frozen=True, slots=True)
class Principal:
    user: User
    role: str
    scope: Scope
    via_token: bool = False

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())


def accounts() -> Accounts:
    return current_app.extensions["hotspot"].accounts


def scope_for(role: str, partner: Optional[str]) -> Scope:
    if role != "partner":
        return Scope()
    cfg = current_app.extensions["hotspot"].cfg
    p = next((x for x in cfg.partners if x.id == partner), None)
    if p is None:
        return Scope(frozenset(), partner)  # a partner no longer configured sees nothing
    if p.sites == "all":
        return Scope(None, partner)
    return Scope(frozenset(p.sites), partner)


def principal() -> Optional[Principal]:
    """The caller of this request (session or API token), or None."""
    if "principal" in g:
        return g.principal
    p = None
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        found = accounts().token_user(header[7:].strip())
        if found is not None:
            user, role = found
            p = Principal(user, role, scope_for(role, user.partner), True)
    elif current_user.is_authenticated:
        u = current_user.user
        p = Principal(u, u.role, scope_for(u.role, u.partner))
    g.principal = p
    return p


def page(permission: Optional[str] = None) -> Callable:
    """A page for logged-in users (optionally with a permission)."""
    def deco(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*a: Any, **kw: Any) -> Any:
            p = principal()
            if p is None or p.via_token:
                return login_manager.unauthorized()
            if permission and not p.can(permission):
                abort(403)
            return fn(*a, **kw)
        return wrapper
    return deco


def api(permission: Optional[str] = None) -> Callable:
    """An API endpoint: a session or a bearer token, else 401."""
    def deco(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*a: Any, **kw: Any) -> Any:
            p = principal()
            if p is None:
                return api_unauthorized()
            if permission and not p.can(permission):
                r = jsonify(error="forbidden", message=f"needs the {permission} permission")
                r.status_code = 403
                return r
            return fn(*a, **kw)
        return wrapper
    return deco


def scope() -> Scope:
    p = principal()
    return p.scope if p is not None else Scope(frozenset())
