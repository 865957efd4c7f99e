"""Sign-in and language forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo

from lms_plugin.web.forms import REQUIRED, at_most


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(REQUIRED), at_most(64)],
                           render_kw={"autocomplete": "username", "autocapitalize": "none"})
    password = PasswordField(_l("Password"), validators=[DataRequired(REQUIRED), at_most(256)],
                             render_kw={"autocomplete": "current-password"})


class LanguageForm(FlaskForm):
    language = HiddenField(validators=[DataRequired(REQUIRED)])


def _new_password_fields() -> tuple[PasswordField, PasswordField]:
    new = PasswordField(_l("New password"), validators=[DataRequired(REQUIRED), at_most(256)],
                        description=_l("At least 10 characters and hard to guess: a few unrelated words work well. "
                                       "Common passwords and your own name are refused."),
                        render_kw={"autocomplete": "new-password"})
    again = PasswordField(_l("New password again"),
                          validators=[DataRequired(REQUIRED), EqualTo("new_password",
                                                                      message=_l("The two new passwords differ."))],
                          render_kw={"autocomplete": "new-password"})
    return new, again


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(REQUIRED), at_most(256)],
                                     render_kw={"autocomplete": "current-password"})
    new_password, new_password_again = _new_password_fields()


class ResetPasswordForm(FlaskForm):
    new_password, new_password_again = _new_password_fields()
