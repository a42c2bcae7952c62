from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from directory.phones import PhoneError, parse_phone


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The two new passwords are not the same."))],
    )


class AccountForm(FlaskForm):
    work_phone = StringField(_l("Work phone"), validators=[Optional(), Length(max=50)])

    def validate_work_phone(self, field):
        try:
            field.data = str(parse_phone(field.data))  # written the usual way: 138 0013 8000, 020-83456789
        except PhoneError:
            raise ValidationError(
                _l("Write a mobile (11 digits), a landline with its area code (020-83456789) or a 400/800 number.")
            ) from None
