"""Cross-cutting web concerns: security headers, error pages, the database session per request."""

from __future__ import annotations

import logging

import flask_babel
from flask import Flask, get_template_attribute, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from directory.catalog.cache import cached
from directory.catalog.change_words import value_in_words
from directory.catalog.forms import STATUS_LABELS, WEEKDAY_LABELS
from directory.catalog.hours import format_period, is_open_at
from directory.catalog.urls import is_safe_url
from directory.eligibility.explain import describe_rules, explain_verdict, rules_change_text
from directory.eligibility.forms import facts_query
from directory.extensions import db
from directory.i18n import select_locale
from directory.phones import tel_uri
from directory.vocabulary import LANGUAGE_CHOICES

log = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def register_web(app: Flask) -> None:
    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        response.headers.setdefault("Permissions-Policy", "geolocation=(self), camera=(), microphone=()")
        return response

    def render_error(status: int, title: str, message: str):
        if _wants_json():
            return {"error": {"status": status, "message": message}}, status
        return render_template("error.html", status=status, title=title, message=message), status

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        db.session.rollback()
        return render_error(
            400,
            _("The form has expired"),
            _(
                "Your form was not accepted because its security token was missing or expired. "
                "Go back, reload the page and try again."
            ),
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        db.session.rollback()
        messages = {
            400: (_("Bad request"), _("The request could not be understood.")),
            403: (_("Not allowed"), _("You do not have permission to see or change this.")),
            404: (_("Not found"), _("This page does not exist or has been removed.")),
            405: (_("Not allowed"), _("This action is not available here.")),
            429: (_("Too many attempts"), _("Too many attempts. Please wait a minute and try again.")),
        }
        title, message = messages.get(error.code or 500, (error.name, error.description or ""))
        if error.code == 400 and error.description and _wants_json():
            message = error.description
        return render_error(error.code or 500, title, message)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        db.session.rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        return render_error(
            500,
            _("Something went wrong"),
            _("An unexpected error occurred. Nothing was saved. Please try again."),
        )


def register_template_helpers(app: Flask) -> None:
    field_labels = {
        "name": _l("Name"),
        "alternate_name": _l("English name"),
        "description": _l("Description"),
        "status": _l("Status"),
        "application_process": _l("How to apply"),
        "fees_description": _l("Fees"),
        "eligibility_description": _l("Who is eligible"),
        "eligibility_rules": _l("Eligibility rules"),
        "minimum_age": _l("Minimum age"),
        "maximum_age": _l("Maximum age"),
        "accepting_referrals": _l("Accepting referrals"),
        "capacity_note": _l("Capacity or waiting list"),
        "alert": _l("Notice"),
        "url": _l("Web page"),
        "email": _l("Email"),
        "taxonomy": _l("Categories"),
        "locations": _l("Locations"),
        "languages": _l("Languages"),
        "required_documents": _l("Documents to bring"),
        "service_areas": _l("Service area"),
        "hours": _l("Opening hours"),
        "holiday_hours": _l("Holiday hours"),
        "assured_date": _l("Last verified"),
        "district": _l("District"),
        "address_1": _l("Street address"),
        "postal_code": _l("Postal code"),
        "latitude": _l("Latitude"),
        "longitude": _l("Longitude"),
        "transportation": _l("How to get there"),
        "active": _l("Active"),
        "phones": _l("Phones"),
    }
    action_labels = {
        "create": _l("Created"),
        "deactivate": _l("Deactivated"),
        "verify": _l("Verified as still accurate"),
    }
    languages = dict(LANGUAGE_CHOICES)

    def change_label(change) -> str:
        if change.action in action_labels:
            return str(action_labels[change.action])
        return str(field_labels.get(change.field, change.field))

    def change_value(change, value: str | None) -> str:
        """A change's old or new value as shown in the history (rules in plain words)."""
        if change.field == "eligibility_rules":
            return rules_change_text(value)
        return value_in_words(change.field, value)

    def facts_fields_html(form) -> Markup:
        """The fields of a client-situation form, drawn once per language, catalog version and values.

        The same thirty fields are drawn on every service page (about a third of its time); their HTML
        depends only on those, so it is kept (``cached``, bounded). A form with errors is drawn each time.
        """

        def render() -> Markup:
            return Markup(get_template_attribute("eligibility/macros.html", "facts_fields")(form))  # noqa: S704

        if form.errors:
            return render()
        values = tuple((field.name, repr(field.raw_data), repr(field.data)) for field in form)
        return cached(("facts_fields", select_locale(), values), render, bounded=True)

    app.jinja_env.globals.update(
        format_date=flask_babel.format_date,
        format_datetime=flask_babel.format_datetime,
        format_decimal=flask_babel.format_decimal,
        open_at=lambda service, moment: is_open_at(service.schedules, service.schedule_exceptions, moment),
        format_period=format_period,
        weekday_label=lambda code: WEEKDAY_LABELS[code],
        service_status_label=lambda status: STATUS_LABELS.get(status, status),
        language_label=lambda code: languages.get(code, code),
        change_label=change_label,
        change_value=change_value,
        explain_verdict=explain_verdict,
        describe_rules=describe_rules,
        facts_query=facts_query,
        term_label=lambda term: term.label(select_locale()),
        safe_link=is_safe_url,
        facts_fields_html=facts_fields_html,
        tel_uri=tel_uri,
    )
