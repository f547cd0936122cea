"""Every form of the dashboard (Flask-WTF: each carries a CSRF token)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length

from .accounts import MIN_PASSWORD, ROLES
from .i18n import LOCALES


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=512)])
    next = HiddenField()


class LanguageForm(FlaskForm):
    lang = SelectField(_l("Language"), choices=list(LOCALES))
    next = HiddenField()


class ActionForm(FlaskForm):
    """A button that changes something (logout, remove, revoke): CSRF only."""


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=MIN_PASSWORD, max=512)])
    again = PasswordField(_l("New password again"), validators=[EqualTo("new")])


class NoteForm(FlaskForm):
    text = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=2000)])


class UserForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=MIN_PASSWORD, max=512)])
    role = SelectField(_l("Role"), choices=list(ROLES))
    partner = StringField(_l("Partner id (partner role only)"), validators=[Length(max=64)])


class TokenForm(FlaskForm):
    username = HiddenField(validators=[DataRequired()])
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=128)])
    role = SelectField(_l("Role"), choices=["", *ROLES])
