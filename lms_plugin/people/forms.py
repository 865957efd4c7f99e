"""Sign-in and language forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired

from lms_plugin.web.forms import REQUIRED, at_most


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(REQUIRED), at_most(64)],
                           render_kw={"autocomplete": "username", "autocapitalize": "none"})
    password = PasswordField(_l("Password"), validators=[DataRequired(REQUIRED), at_most(256)],
                             render_kw={"autocomplete": "current-password"})


class LanguageForm(FlaskForm):
    language = HiddenField(validators=[DataRequired(REQUIRED)])
