"""Login, logout, language, own password, and user administration (admin)."""
from __future__ import annotations

import math
from datetime import datetime, timezone

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   session, url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..accounts import AccountError
from ..auth import SessionUser, accounts, page, principal
from ..forms import ActionForm, LanguageForm, LoginForm, PasswordForm, TokenForm, UserForm
from ..i18n import LOCALES
from ..views import safe_next

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"))
    status = 200
    if form.validate_on_submit():
        addr = request.remote_addr or "?"
        throttle = current_app.extensions["hotspot"].throttle
        wait = throttle.blocked_for(addr)
        result = None
        if wait is None:
            result = accounts().login(form.username.data.strip(), form.password.data)
            if result.user is not None:
                session.clear()
                login_user(SessionUser(result.user))
                session.permanent = True
                return redirect(safe_next(form.next.data))
            throttle.failed(addr)
            if result.locked_until is not None:
                wait = (result.locked_until - datetime.now(timezone.utc)).total_seconds()
        if wait is not None:
            status = 429
            flash(_("Too many failed logins. Try again in %(n)s seconds.", n=max(1, math.ceil(wait))), "error")
        else:
            flash(_("Wrong username or password."), "error")
    elif request.method == "POST":
        status = 400
        flash(_("The form was incomplete or expired; please try again."), "error")
    return render_template("login.html", form=form, lang_form=LanguageForm()), status


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    form = ActionForm()
    if form.validate_on_submit():
        logout_user()
        session.clear()
    return redirect(url_for("auth.login"))


@bp.post("/lang")
def lang():  # type: ignore[no-untyped-def]
    form = LanguageForm()
    if form.validate_on_submit() and form.lang.data in LOCALES:
        session["lang"] = form.lang.data
        if current_user.is_authenticated:
            accounts().set_locale(current_user.user.id, form.lang.data)
    return redirect(safe_next(form.next.data or request.referrer and _path(request.referrer)))


def _path(url: str) -> str:
    from urllib.parse import urlsplit

    u = urlsplit(url)
    if u.netloc and u.netloc != request.host:
        return "/"
    return u.path + ("?" + u.query if u.query else "")


@bp.route("/account", methods=["GET", "POST"])
@page()
def account():  # type: ignore[no-untyped-def]
    form = PasswordForm()
    me = principal()
    if form.validate_on_submit():
        res = accounts().login(me.user.username, form.current.data)
        if res.user is None:
            flash(_("The current password is wrong."), "error")
        else:
            try:
                accounts().set_password(me.user.username, form.new.data)
            except AccountError as e:
                flash(str(e), "error")
            else:
                logout_user()
                session.clear()
                flash(_("Password changed. Please log in again."), "info")
                return redirect(url_for("auth.login"))
    return render_template("account.html", form=form)


@bp.route("/admin/users", methods=["GET", "POST"])
@page("manage_users")
def users():  # type: ignore[no-untyped-def]
    acc = accounts()
    form = UserForm(prefix="add")
    new_token = None
    if form.validate_on_submit():
        try:
            acc.add_user(form.username.data, form.password.data, form.role.data,
                         partner=form.partner.data or None)
            flash(_("User %(u)s added.", u=form.username.data), "info")
            return redirect(url_for("auth.users"))
        except AccountError as e:
            flash(str(e), "error")
    token_form = TokenForm(prefix="tok")
    if token_form.validate_on_submit():
        try:
            new_token = acc.create_token(token_form.username.data, token_form.name.data,
                                         token_form.role.data or None)
        except AccountError as e:
            flash(str(e), "error")
    cfg = current_app.extensions["hotspot"].cfg
    return render_template("users.html", form=form, token_form=token_form, users=acc.list(),
                           tokens=acc.list_tokens(), new_token=new_token, action=ActionForm(),
                           partners=cfg.partners)


@bp.post("/admin/users/<username>/remove")
@page("manage_users")
def remove_user(username: str):  # type: ignore[no-untyped-def]
    if not ActionForm().validate_on_submit():
        abort(400)
    if username == principal().user.username:
        flash(_("You cannot remove yourself."), "error")
    else:
        try:
            accounts().remove(username)
            flash(_("User %(u)s removed.", u=username), "info")
        except AccountError as e:
            flash(str(e), "error")
    return redirect(url_for("auth.users"))


@bp.post("/admin/tokens/<int:token_id>/revoke")
@page("manage_users")
def revoke_token(token_id: int):  # type: ignore[no-untyped-def]
    if not ActionForm().validate_on_submit():
        abort(400)
    accounts().revoke_token(token_id)
    return redirect(url_for("auth.users"))
