"""The search page and the same search as JSON at GET /api/v1/search."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial

from babel.numbers import format_decimal
from flask import Blueprint, g, jsonify, make_response, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from directory.accounts.permissions import can_keep_clients
from directory.catalog.cache import cached, taxonomy, term_labels
from directory.eligibility.explain import verdict_json
from directory.eligibility.forms import ClientFactsForm, facts_from_query, facts_query, query_has_facts
from directory.geo.districts import DISTRICTS
from directory.i18n import select_locale
from directory.redirects import moved
from directory.search import services as search_service
from directory.search.engine import ParamError
from directory.search.widen import counted_widenings, leaves_nothing_usable
from directory.vocabulary import LANGUAGE_CHOICES

bp = Blueprint("search", __name__)

# What an empty search page offers to try: (words, place).
SEARCH_EXAMPLES = (
    ("美沙酮", "番禺区 市桥"),
    ("法律援助", "天河区"),
    ("就业", ""),
    ("", "客村地铁站"),
    ("shelter", "越秀区"),
)


def _widen_links(params, facts, result) -> list[tuple[str, dict, int]]:
    """Ways out of a search that leaves no usable service, each with the number it would show."""
    if result is None or params is None or not leaves_nothing_usable(result):
        return []
    args = {name: values for name, values in request.args.lists()}
    return counted_widenings(params, args, lambda wider: search_service.search(replace(wider, per_page=1), facts).total)


@bp.route("/search")
def search_page():
    if request.args.get("client"):  # the search for a saved client is one of the client's pages now
        return moved("referrals.client_search", drop=("client",), client_id=request.args["client"])
    args = MultiDict(request.args)
    facts_form, facts = facts_from_query(args)
    return search_response(args, facts_form, facts, partial(url_for, "search.search_page"))


def search_response(
    args: MultiDict,
    facts_form: ClientFactsForm,
    facts: dict | None,
    search_url: Callable[..., str],
    client=None,
    need=None,
) -> Response:
    """The search page for ``args`` and a client's facts; ``search_url`` makes its links. For a saved
    ``client`` (and ``need``), the referrals blueprint passes their facts and draws it for them."""
    error = None
    result = None
    try:
        params = search_service.read_params(args)
    except ParamError as exc:
        error = exc
        params = None
    draw_facts = client is None and bool(facts or facts_form.errors or query_has_facts(args) or args.get("facts"))
    if params is not None and not facts_form.errors and (params.q or params.near or params.category or params.district):
        result = search_service.search(params, facts=facts)
    query = args.to_dict()  # the first value of each parameter, read without MultiDict's KeyError per miss
    return make_response(
        render_template(
            "search/search.html",
            params=params,
            args=args,
            query=query,
            error=error,
            facts_form=facts_form,
            draw_facts=draw_facts,
            facts=facts,
            facts_args=facts_query(facts) if client is None else {},
            client=client,
            need=need,
            may_refer=can_keep_clients(current_user),
            result=result,
            widen=_widen_links(params, facts, result),
            search_examples=SEARCH_EXAMPLES,
            filters=_filters(query, error),
            search_url=search_url,
        ),
        400 if error or facts_form.errors else 200,
    )


@bp.route("/search/client-situation")
def client_situation_fields():
    """The search page's client situation fields, empty: fetched when the closed panel is opened."""
    form = ClientFactsForm(formdata=None, meta={"csrf": False})
    return render_template("search/_client_situation.html", facts_form=form)


FILTERS = ("radius_km", "category", "district", "language", "open_now", "accepting", "sort")


def _filters(query: dict, error: ParamError | None) -> Markup:
    """The filters panel, rendered once per catalog version, language and filter values and then kept
    (the most recent combinations: see ``directory.catalog.cache.MAX_ENTRIES``)."""
    values = tuple(query.get(name, "") for name in FILTERS)
    radius_error = error is not None and error.param == "radius_km"

    def render() -> Markup:
        html = render_template(
            "search/_filters.html",
            query=dict(zip(FILTERS, values, strict=True)),
            radius_error=radius_error,
            terms=taxonomy().top,
            districts=DISTRICTS,
            languages=LANGUAGE_CHOICES,
        )
        return Markup(html)  # noqa: S704 (an autoescaped template's output)

    return cached(("search.filters", select_locale(), values, radius_error), render, bounded=True)


@bp.route("/api/v1/search")
def search_api():
    try:
        params = search_service.read_params(request.args)
    except ParamError as exc:
        return jsonify({"error": {"parameter": exc.param, "message": exc.message}}), 400
    facts_form, facts = facts_from_query(request.args)
    if facts_form.errors:
        name, messages = next(iter(facts_form.errors.items()))
        return jsonify({"error": {"parameter": getattr(facts_form, name).name, "message": messages[0]}}), 400
    result = search_service.search(params, facts=facts)
    if result.place is not None and not result.place.resolved:
        return jsonify(
            {
                "error": {
                    "parameter": "near",
                    "message": result.place.message,
                    "suggestions": list(result.place.suggestions),
                }
            }
        ), 400
    place = result.place
    return jsonify(
        {
            "query": {
                "q": params.q,
                "near": params.near or None,
                "radius_km": params.effective_radius if params.near else None,
                "category": params.category,
                "district": params.district,
                "open_now": params.open_now,
                "accepting": params.accepting,
                "language": params.language,
                "sort": params.effective_sort(),
                "client_facts_given": facts is not None,
                "hide_ineligible": params.hide_ineligible,
            },
            "place": {"name": place.name, "latitude": place.latitude, "longitude": place.longitude}
            if place is not None
            else None,
            "total_items": result.total,
            "total_is_estimate": result.total_is_estimate,
            "page": params.page,
            "per_page": params.per_page,
            "total_pages": result.pages,
            "hidden_ineligible": result.hidden,
            "suggestion": result.suggestion,
            "corrected_from": result.corrected_from,
            "partial_matches": result.partial,
            "contents": [
                {
                    "service_id": hit.service_id,
                    "location_id": hit.location_id or None,
                    "name": hit.name,
                    "organization_name": hit.org_name,
                    "taxonomy_term_codes": hit.codes,
                    "district": hit.district or None,
                    "latitude": hit.latitude if hit.location_id else None,
                    "longitude": hit.longitude if hit.location_id else None,
                    "distance_km": round(hit.distance_km, 3) if hit.distance_km is not None else None,
                    "covers_place": hit.covers,
                    "open_now": hit.open_now,
                    "accepting_referrals": hit.accepting,
                    "score": round(hit.score, 4),
                    "matches_every_word": not hit.partial,
                    "eligibility": verdict_json(hit.eligibility) if hit.eligibility is not None else None,
                }
                for hit in result.hits
            ],
        }
    )


@bp.app_context_processor
def search_helpers():
    def code_label(code: str) -> str:
        labels = g.get("_code_labels")
        if labels is None:  # once per request: the labels of every term, kept per catalog version and language
            labels = g._code_labels = term_labels(select_locale())
        return labels.get(code, code)

    def distance_text(km: float) -> str:
        """A result's distance as ``_('%(km)s km', km=format_decimal(km, format='#,##0.0'))`` gives it, with
        the translation and the locale looked up once per request rather than once per result."""
        words = g.get("_distance_words")
        if words is None:
            words = g._distance_words = (_("%(km)s km"), get_locale())
        pattern, locale = words
        return pattern % {"km": format_decimal(km, format="#,##0.0", locale=locale)}

    def search_error_message(error: ParamError) -> str:
        problems = {
            "q": _("Search words may have at most 200 characters."),
            "radius_km": _("Enter the radius as a number of kilometres, more than 0 and at most 200."),
            "category": _("Choose a category from the list."),
            "district": _("Choose a district from the list."),
            "language": _("Choose a language from the list."),
            "sort": _("Choose relevance or distance."),
            "page": _("The page number is not valid."),
            "per_page": _("Results per page must be between 1 and 100."),
            "open_now": _("Tick the box or leave it empty."),
            "accepting": _("Tick the box or leave it empty."),
        }
        return problems.get(error.param, error.message)

    def widen_label(what: str, new_args: dict) -> str:
        if what == "radius":
            km = new_args["radius_km"]
            return _("Search within %(km)s km", km=km[0] if isinstance(km, list) else km)
        labels = {
            "category": _("Any category"),
            "district": _("Any district"),
            "open_now": _("Also closed now"),
            "accepting": _("Also those not accepting referrals"),
            "language": _("Any language"),
            "hide_ineligible": _("Also services the client is not eligible for"),
            "q": _("All services near here, without the search words"),
        }
        return labels[what]

    return {
        "code_label": code_label,
        "distance_text": distance_text,
        "search_error_message": search_error_message,
        "widen_label": widen_label,
    }
