"""The erasure form: a reason, and the username typed again as the confirmation."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired

from lms_plugin.web.forms import REQUIRED, at_most


class EraseForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(REQUIRED), at_most(2000)],
                           description=_l("For example the request's reference and date. Do not write the "
                                          "person's name here: the reason stays in the audit log."))
    confirm_username = StringField(_l("Type the username to confirm"), validators=[DataRequired(REQUIRED),
                                                                                   at_most(64)],
                                   render_kw={"autocomplete": "off", "autocapitalize": "none"})
