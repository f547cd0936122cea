"""Every form of the dashboard (Flask-WTF: each carries a CSRF token)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, HiddenField, PasswordField, RadioField, SelectField, SelectMultipleField,
                     StringField, TextAreaField)
from wtforms.validators import DataRequired, EqualTo, Length
from wtforms.widgets import CheckboxInput, ListWidget

from hotspot_monitor.config.models import WEEKDAYS

try:  # wtforms >= 3.3 (tuples are deprecated there, to be removed in 3.4)
    from wtforms.fields.choices import SelectChoice as choice
except ImportError:  # older wtforms: a (value, label) pair
    def choice(value, label):  # type: ignore[no-redef]
        return (value, label)

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


DAY_LABELS = {"mon": _l("Mon"), "tue": _l("Tue"), "wed": _l("Wed"), "thu": _l("Thu"), "fri": _l("Fri"),
              "sat": _l("Sat"), "sun": _l("Sun")}


class AckForm(FlaskForm):
    """Acknowledge a firing alert: no more repeats, no escalation."""

    comment = StringField(_l("Comment"), validators=[DataRequired(), Length(max=2000)])


class SilenceForm(FlaskForm):
    """A silence or maintenance window (choices of site, district and rule set by the view)."""

    kind = SelectField(_l("Kind"), choices=[choice("silence", _l("Silence: mute messages")),
                                            choice("maintenance", _l("Maintenance: planned downtime, also muted"))])
    ap = StringField(_l("AP"), validators=[Length(max=128)])
    site = SelectField(_l("Site"), choices=[], validate_choice=False)
    district = SelectField(_l("District"), choices=[], validate_choice=False)
    rule = SelectField(_l("Rule"), choices=[], validate_choice=False)
    everything = BooleanField(_l("Everything (no AP, site, district or rule chosen)"))
    schedule = RadioField(_l("When"), choices=[choice("once", _l("One-off")), choice("weekly", _l("Weekly"))],
                          default="once")
    start = StringField(_l("Start (local time, empty: now)"), validators=[Length(max=40)])
    duration = StringField(_l("For (e.g. 2h, 30m, 3d)"), validators=[Length(max=20)], default="2h")
    until = StringField(_l("Or until (local time)"), validators=[Length(max=40)])
    days = SelectMultipleField(_l("Days"), choices=[choice(d, DAY_LABELS[d]) for d in WEEKDAYS],
                               widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    time_from = StringField(_l("From (local)"), validators=[Length(max=5)], default="22:00")
    time_to = StringField(_l("To (local)"), validators=[Length(max=5)], default="06:00")
    weekly_until = StringField(_l("Recurs until (empty: one year)"), validators=[Length(max=40)])
    comment = TextAreaField(_l("Comment (why, for the record)"), validators=[DataRequired(), Length(max=2000)])
