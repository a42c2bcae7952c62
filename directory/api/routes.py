"""The read-only JSON API under /api/v1, shaped like HSDS 3.0 (docs/hsds.md; OpenAPI at /api/v1/openapi.json).

It reads only catalog tables: nothing about clients, referrals or users is ever in it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, abort, jsonify, request, url_for
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from directory.api import hsds_export as hsds
from directory.api.hsds_common import (
    EXTENSION_BY_TERM_ID,
    EXTENSION_TAXONOMY,
    EXTENSION_TAXONOMY_ID,
    HSDS_VERSION,
    extension_term_dict,
)
from directory.api.openapi import openapi_document
from directory.api.params import (
    MODIFIED_AFTER,
    NEAR,
    ORGANIZATION_ID,
    PAGE,
    PARENT_ID,
    PER_PAGE,
    POSTCODE,
    PROXIMITY,
    RADIUS,
    SEARCH,
    TAXONOMY_ID,
    TAXONOMY_TERM_ID,
    Param,
    ParamError,
    read_params,
)
from directory.catalog.models import (
    Location,
    Organization,
    Service,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
    service_taxonomy,
)
from directory.catalog.services import term_with_descendants
from directory.extensions import db
from directory.geo.distance import bounding_box, distance_km
from directory.geo.geocoder import resolve_for_app
from directory.search.services import ranked_service_ids  # the one way into search (docs/search.md)

bp = Blueprint("api", __name__, url_prefix="/api/v1")
DEFAULT_RADIUS_KM = 5.0


@dataclass(frozen=True)
class Endpoint:
    """One route as the OpenAPI document describes it."""

    path: str  # OpenAPI form: /services/{id}
    summary: str
    params: tuple[Param, ...]
    response: dict  # OpenAPI schema of the 200 body
    by_id: bool


ENDPOINTS: list[Endpoint] = []


def _bad_parameter(exc: ParamError):
    return jsonify({"error": {"parameter": exc.param, "message": exc.message}}), 400


def endpoint(rule: str, summary: str, response: dict, params: tuple[Param, ...] = ()) -> Callable:
    """Register a GET route and its description: parameters are checked (400 naming the bad one) and
    the view's dict is sent as JSON."""

    def decorate(view: Callable) -> Callable:
        ENDPOINTS.append(Endpoint(rule.replace("<id>", "{id}"), summary, params, response, "<id>" in rule))

        @functools.wraps(view)
        def wrapped(**kwargs):
            try:
                values = read_params(request.args, params)
                return jsonify(_public(view(values, **kwargs)))
            except ParamError as exc:
                return _bad_parameter(exc)

        bp.add_url_rule(rule, view.__name__, wrapped, methods=["GET"])
        return wrapped

    return decorate


# Who verified a listing is an account's email address: kept in the export, not served to everyone.
NOT_PUBLIC = frozenset({"assurer_email"})


def _public(data):
    if isinstance(data, dict):
        return {k: _public(v) for k, v in data.items() if k not in NOT_PUBLIC}
    if isinstance(data, list):
        return [_public(v) for v in data]
    return data


@bp.after_request
def open_data_headers(response):
    response.headers["Access-Control-Allow-Origin"] = "*"  # public, read-only data
    return response


# --- helpers -------------------------------------------------------------------------------------


def _page(contents: list[dict], total: int, values: dict) -> dict:
    """HSDS pagination metadata around one page of results."""
    per_page, page = values["per_page"], values["page"]
    total_pages = math.ceil(total / per_page)
    return {
        "total_items": total,
        "total_pages": total_pages,
        "page_number": page,
        "size": len(contents),
        "first_page": page == 1,
        "last_page": page >= total_pages,
        "empty": not contents,
        "contents": contents,
    }


def _offset(values: dict) -> int:
    return (values["page"] - 1) * values["per_page"]


def _count(query: Select) -> int:
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def _get_or_404(model: type, obj_id: str, *options):
    obj = db.session.get(model, obj_id, options=options) if len(obj_id) <= 36 else None
    if obj is None:
        abort(404)
    return obj


def _contains(column, words: str):
    """Case-insensitive "contains" (LIKE with its wildcards escaped)."""
    pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return func.lower(column).like(pattern.lower(), escape="\\")



def _service_filters(query: Select, values: dict) -> Select:
    if values.get("organization_id"):
        query = query.where(Service.organization_id == values["organization_id"])
    if values.get("taxonomy_term_id"):
        term = db.session.get(TaxonomyTerm, values["taxonomy_term_id"])
        term_ids = term_with_descendants(term) if term is not None else []
        query = query.where(
            Service.id.in_(
                select(service_taxonomy.c.service_id).where(service_taxonomy.c.taxonomy_term_id.in_(term_ids))
            )
        )
    if values.get("taxonomy_id"):
        query = query.where(
            Service.id.in_(
                select(service_taxonomy.c.service_id)
                .join(TaxonomyTerm, TaxonomyTerm.id == service_taxonomy.c.taxonomy_term_id)
                .where(TaxonomyTerm.taxonomy_id == values["taxonomy_id"])
            )
        )
    if values.get("modified_after"):
        query = query.where(Service.last_modified >= values["modified_after"])
    return query


def _filtered(values: dict) -> bool:
    return any(values.get(name) for name in ("organization_id", "taxonomy_term_id", "taxonomy_id", "modified_after"))


def _load(model: type, ids: list[str], *options) -> list:
    """The objects of ``ids``, in that order."""
    found = {obj.id: obj for obj in db.session.scalars(select(model).where(model.id.in_(ids)).options(*options))}
    return [found[i] for i in ids if i in found]


# --- schemas for the OpenAPI document -----------------------------------------------------------

HSDS_SCHEMA = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/{}.json"


def _hsds(name: str) -> dict:
    return {"$ref": HSDS_SCHEMA.format(name)}


def _paged(name: str) -> dict:
    return {
        "allOf": [{"$ref": "#/components/schemas/Page"}],
        "properties": {"contents": {"type": "array", "items": _hsds(name)}},
    }


def _with_extensions(name: str, what: str) -> dict:
    """An HSDS object to which we add ``attributes`` (HSDS terms and taxonomies have none)."""
    items = {"type": "array", "items": _hsds("attribute"), "description": f"Lianjie extension: {what}."}
    return {"allOf": [_hsds(name)], "properties": {"attributes": items}}


TERM_SCHEMA = _with_extensions("taxonomy_term", "the term's English name and position as attributes")
TAXONOMY_SCHEMA = _with_extensions("taxonomy", "the taxonomy's English name as an attribute")
ABOUT_SCHEMA = {
    "type": "object",
    "properties": {
        "version": {"type": "string", "description": "HSDS version of this API."},
        "openapi_url": {"type": "string", "format": "uri", "description": "URL of this API's OpenAPI document."},
    },
}


# --- routes --------------------------------------------------------------------------------------


@endpoint("/", "About this API: its HSDS version and where its OpenAPI document is.", ABOUT_SCHEMA)
def about(values: dict) -> dict:
    return {"version": HSDS_VERSION, "openapi_url": url_for("api.openapi", _external=True)}


@endpoint("/openapi.json", "This OpenAPI 3.1 document.", {"type": "object"})
def openapi(values: dict) -> dict:
    return openapi_document(ENDPOINTS)


@endpoint(
    "/services",
    "Services (one-to-one fields and their organization), by name; with `search`, best match first.",
    _paged("service"),
    (SEARCH, TAXONOMY_TERM_ID, TAXONOMY_ID, ORGANIZATION_ID, MODIFIED_AFTER, PAGE, PER_PAGE),
)
def services(values: dict) -> dict:
    ids_query = _service_filters(select(Service.id), values)
    start, end = _offset(values), _offset(values) + values["per_page"]
    if values["search"]:
        ranked = ranked_service_ids(values["search"])
        if _filtered(values):
            allowed = set(db.session.scalars(ids_query))
            ranked = [i for i in ranked if i in allowed]
        total, page_ids = len(ranked), ranked[start:end]
    else:
        total = _count(ids_query)
        page_ids = list(
            db.session.scalars(ids_query.order_by(Service.name, Service.id).offset(start).limit(end - start))
        )
    found = _load(Service, page_ids, *hsds.service_options(full=False))
    return _page([hsds.service_dict(s, full=False) for s in found], total, values)


@endpoint("/services/<id>", "A service, fully nested.", _hsds("service"))
def service(values: dict, id: str) -> dict:  # noqa: A002 (the HSDS path parameter)
    return hsds.service_dict(_get_or_404(Service, id, *hsds.service_options(full=True)))


def _sal_list_dict(sal: ServiceAtLocation) -> dict:
    result = hsds.service_at_location_dict(sal, location=False, service=True)
    result["location"] = {
        **hsds.location_dict(sal.location, full=False),
        "addresses": [hsds.address_dict(sal.location)],
    }
    return result


def _centre(values: dict) -> tuple[tuple[float, float] | None, float]:
    """The point and radius (km) a place search is around, if any."""
    if values["radius"] is not None and not values["near"]:
        raise ParamError("radius", "needs `near`")
    if values["proximity"] is not None and not values["postcode"]:
        raise ParamError("proximity", "needs `postcode`")
    if values["near"] and values["postcode"]:
        raise ParamError("postcode", "give `near` or `postcode`, not both")
    if values["near"]:
        place = resolve_for_app(values["near"])
        if not place.resolved:
            raise ParamError("near", place.message or "unknown place")
        return place.point, values["radius"] or DEFAULT_RADIUS_KM
    if values["postcode"] and values["proximity"] is not None:
        lat, lon = db.session.execute(
            select(func.avg(Location.latitude), func.avg(Location.longitude)).where(
                Location.postal_code == values["postcode"], Location.latitude.is_not(None)
            )
        ).one()
        if lat is None:
            raise ParamError("postcode", "no location with coordinates has this postal code")
        return (float(lat), float(lon)), values["proximity"] / 1000
    return None, 0.0


@endpoint(
    "/service_at_locations",
    "Services at locations (one-to-one fields with the service and the location); near a place nearest "
    "first, with `search` best match first, else by service name.",
    _paged("service_at_location"),
    (
        SEARCH,
        TAXONOMY_TERM_ID,
        TAXONOMY_ID,
        ORGANIZATION_ID,
        MODIFIED_AFTER,
        NEAR,
        RADIUS,
        POSTCODE,
        PROXIMITY,
        PAGE,
        PER_PAGE,
    ),
)
def service_at_locations(values: dict) -> dict:
    centre, radius_km = _centre(values)
    query = _service_filters(
        select(ServiceAtLocation.id, ServiceAtLocation.service_id, Location.latitude, Location.longitude)
        .join(Service, Service.id == ServiceAtLocation.service_id)
        .join(Location, Location.id == ServiceAtLocation.location_id),
        values,
    ).order_by(Service.name, Location.name, ServiceAtLocation.id)
    if values["postcode"] and centre is None:
        query = query.where(Location.postal_code == values["postcode"])
    start, end = _offset(values), _offset(values) + values["per_page"]
    if centre is None and not values["search"]:
        total = _count(query)
        page_ids = list(
            db.session.scalars(query.with_only_columns(ServiceAtLocation.id).offset(start).limit(end - start))
        )
    else:
        rows = _located(query, centre, radius_km) if centre is not None else db.session.execute(query).all()
        if values["search"]:
            rank = {service_id: i for i, service_id in enumerate(ranked_service_ids(values["search"]))}
            rows = [r for r in rows if r.service_id in rank]
            if centre is None:
                rows.sort(key=lambda r: rank[r.service_id])  # stable: by name within a service
        total, page_ids = len(rows), [r.id for r in rows[start:end]]
    options = (
        selectinload(ServiceAtLocation.location),
        selectinload(ServiceAtLocation.service).selectinload(Service.organization),
    )
    return _page([_sal_list_dict(sal) for sal in _load(ServiceAtLocation, page_ids, *options)], total, values)


def _located(query: Select, centre: tuple[float, float], radius_km: float) -> list:
    """The rows of active locations within the radius, nearest first (geodesic distances)."""
    min_lat, max_lat, min_lon, max_lon = bounding_box(centre[0], centre[1], radius_km)
    query = query.where(
        Location.active.is_(True),
        Location.latitude.between(min_lat, max_lat),
        Location.longitude.between(min_lon, max_lon),
    )
    near = []
    for row in db.session.execute(query):
        km = distance_km(centre[0], centre[1], row.latitude, row.longitude)
        if km <= radius_km:
            near.append((km, row))
    near.sort(key=lambda pair: (pair[0], pair[1].id))
    return [row for _, row in near]


@endpoint(
    "/service_at_locations/<id>",
    "A service at a location, with the full service and location.",
    _hsds("service_at_location"),
)
def service_at_location(values: dict, id: str) -> dict:  # noqa: A002
    sal = _get_or_404(ServiceAtLocation, id)
    result = hsds.service_at_location_dict(sal, location=True, service=False)
    result["service"] = hsds.service_dict(sal.service, full=True)
    return result


@endpoint(
    "/organizations",
    "Organizations (one-to-one fields), by name.",
    _paged("organization"),
    (SEARCH, PAGE, PER_PAGE),
)
def organizations(values: dict) -> dict:
    query = select(Organization)
    if values["search"]:
        query = query.where(
            or_(
                _contains(Organization.name, values["search"]), _contains(Organization.alternate_name, values["search"])
            )
        )
    total = _count(query)
    orgs = db.session.scalars(
        query.order_by(Organization.name, Organization.id).offset(_offset(values)).limit(values["per_page"])
    )
    return _page([hsds.organization_dict(org) for org in orgs], total, values)


@endpoint(
    "/organizations/<id>",
    "An organization with its phones and locations, and its services' one-to-one fields.",
    _hsds("organization"),
)
def organization(values: dict, id: str) -> dict:  # noqa: A002
    org = _get_or_404(
        Organization,
        id,
        selectinload(Organization.phones),
        selectinload(Organization.locations).selectinload(Location.phones),
        selectinload(Organization.services).selectinload(Service.organization),
    )
    return hsds.organization_dict(org, full=True, services="list")


@endpoint("/taxonomies", "Taxonomies.", _paged("taxonomy"), (SEARCH, PAGE, PER_PAGE))
def taxonomies(values: dict) -> dict:
    query = select(Taxonomy)
    if values["search"]:
        query = query.where(
            or_(_contains(Taxonomy.name, values["search"]), _contains(Taxonomy.name_en, values["search"]))
        )
    total = _count(query)
    found = db.session.scalars(
        query.order_by(Taxonomy.name, Taxonomy.id).offset(_offset(values)).limit(values["per_page"])
    )
    return _page([hsds.taxonomy_dict(t) for t in found], total, values)


@endpoint("/taxonomies/<id>", "A taxonomy.", TAXONOMY_SCHEMA)
def taxonomy(values: dict, id: str) -> dict:  # noqa: A002
    if id == EXTENSION_TAXONOMY_ID:
        return dict(EXTENSION_TAXONOMY)
    return hsds.taxonomy_dict(_get_or_404(Taxonomy, id))


@endpoint(
    "/taxonomy_terms",
    "Taxonomy terms, in taxonomy order.",
    {**_paged("taxonomy_term"), "properties": {"contents": {"type": "array", "items": TERM_SCHEMA}}},
    (SEARCH, TAXONOMY_ID, PARENT_ID, PAGE, PER_PAGE),
)
def taxonomy_terms(values: dict) -> dict:
    query = select(TaxonomyTerm).options(selectinload(TaxonomyTerm.taxonomy))
    if values["search"]:
        words = values["search"]
        query = query.where(
            or_(
                _contains(TaxonomyTerm.name, words),
                _contains(TaxonomyTerm.name_en, words),
                _contains(TaxonomyTerm.code, words),
            )
        )
    if values["taxonomy_id"]:
        query = query.where(TaxonomyTerm.taxonomy_id == values["taxonomy_id"])
    if values["parent_id"]:
        query = query.where(TaxonomyTerm.parent_id == values["parent_id"])
    total = _count(query)
    found = db.session.scalars(
        query.order_by(TaxonomyTerm.taxonomy_id, TaxonomyTerm.position, TaxonomyTerm.id)
        .offset(_offset(values))
        .limit(values["per_page"])
    )
    return _page([hsds.taxonomy_term_dict(t) for t in found], total, values)


@endpoint("/taxonomy_terms/<id>", "A taxonomy term.", TERM_SCHEMA)
def taxonomy_term(values: dict, id: str) -> dict:  # noqa: A002
    if id in EXTENSION_BY_TERM_ID:
        return extension_term_dict(EXTENSION_BY_TERM_ID[id])
    return hsds.taxonomy_term_dict(_get_or_404(TaxonomyTerm, id, selectinload(TaxonomyTerm.taxonomy)))
