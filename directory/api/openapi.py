"""The OpenAPI 3.1 document of the JSON API, built from the routes' own declarations (routes.ENDPOINTS),
so it lists exactly the paths and parameters served."""

from __future__ import annotations

from collections.abc import Iterable

from directory.api.hsds_common import HSDS_VERSION

PAGE_SCHEMA = {
    "type": "object",
    "description": "HSDS 3.0 pagination.",
    "required": ["total_items", "total_pages", "page_number", "size", "first_page", "last_page", "empty", "contents"],
    "properties": {
        "total_items": {"type": "integer", "description": "How many results there are in all."},
        "total_pages": {"type": "integer", "description": "How many pages there are."},
        "page_number": {"type": "integer", "description": "The number of this page, from 1."},
        "size": {"type": "integer", "description": "How many results are on this page."},
        "first_page": {"type": "boolean", "description": "Whether this is the first page."},
        "last_page": {"type": "boolean", "description": "Whether this is the last page (or past it)."},
        "empty": {"type": "boolean", "description": "Whether this page has no results."},
        "contents": {"type": "array"},
    },
}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message"],
            "properties": {
                "parameter": {"type": "string", "description": "The query parameter that is wrong (400)."},
                "message": {"type": "string", "description": "Why."},
                "status": {"type": "integer"},
            },
        }
    },
}
DESCRIPTION = """\
Read-only open data of the Lianjie 链接 community resource directory for social workers in Guangzhou,
shaped like Open Referral HSDS 3.0 (https://openreferral.org/). Lists are paginated as HSDS defines it.
A bad or unknown query parameter is answered with 400 and `{"error": {"parameter", "message"}}`; an
unknown id with 404. Only the catalog is published: no client, referral or user data.

Fields HSDS has no place for travel as `attributes` whose taxonomy term belongs to the taxonomy
"Lianjie extension fields" (accepting referrals, capacity note, structured eligibility rules, demo
flag, English names); `eligibility_description`, `minimum_age` and `maximum_age` also state the
structured rules in words. The same data in bulk: `flask export-hsds` (docs/hsds.md).
"""


def _operation(endpoint) -> dict:
    responses = {
        "200": {"description": "OK", "content": {"application/json": {"schema": endpoint.response}}},
    }
    if endpoint.params:
        responses["400"] = {
            "description": "A query parameter is unknown, repeated or invalid.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    if endpoint.by_id:
        responses["404"] = {
            "description": "No such record.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    operation = {
        "summary": endpoint.summary,
        "operationId": endpoint.path.strip("/").replace("/", "_").replace("{id}", "by_id").replace(".", "_") or "about",
        "parameters": [p.openapi() for p in endpoint.params],
        "responses": responses,
    }
    if endpoint.by_id:
        operation["parameters"].insert(
            0,
            {
                "name": "id",
                "in": "path",
                "required": True,
                "description": "The record's id.",
                "schema": {"type": "string"},
            },
        )
    return {"get": operation}


def openapi_document(endpoints: Iterable) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Lianjie 链接 open data API (HSDS 3.0)",
            "version": "1.0.0",
            "summary": "Community resources in Guangzhou: organizations, services, locations, taxonomy.",
            "description": DESCRIPTION,
        },
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "servers": [{"url": "/api/v1"}],
        "externalDocs": {"description": f"Open Referral HSDS {HSDS_VERSION}", "url": "https://docs.openreferral.org/"},
        "paths": {endpoint.path: _operation(endpoint) for endpoint in endpoints},
        "components": {"schemas": {"Page": PAGE_SCHEMA, "Error": ERROR_SCHEMA}},
    }
