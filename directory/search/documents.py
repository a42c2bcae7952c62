"""Search documents: one per service at a location (one without coordinates for a service with none)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from directory.catalog.models import Service, TaxonomyTerm
from directory.search.analysis import pinyin_keys
from directory.search.eligibility import rules_bytes


def _codes_with_ancestors(terms: list[TaxonomyTerm]) -> list[str]:
    codes: list[str] = []
    for term in terms:
        for node in [term, *term.ancestors()]:
            if node.code not in codes:
                codes.append(node.code)
    return codes


def _labels(terms: list[TaxonomyTerm]) -> str:
    words = []
    for term in terms:
        for node in [term, *term.ancestors()]:
            words.extend(filter(None, [node.name, node.name_en]))
    return " ".join(dict.fromkeys(words))


def _schedule(schedule) -> list:
    """[byday, opens, closes], and for hours that recur other than weekly their rule's fields."""
    row = [schedule.byday, schedule.opens_at.strftime("%H:%M"), schedule.closes_at.strftime("%H:%M")]
    if schedule.recurrence is not None:
        row.append(
            {
                "freq": schedule.freq,
                "interval": schedule.interval,
                "bymonthday": schedule.bymonthday,
                "dtstart": schedule.dtstart.isoformat() if schedule.dtstart else None,
                "wkst": schedule.wkst,
            }
        )
    return row


def _hours(service: Service) -> str:
    """Weekly hours (and other regular hours, with their rule) and holiday exceptions, stored so that
    "open now" needs no database query."""
    return json.dumps(
        {
            "weekly": [_schedule(s) for s in service.schedules],
            "holidays": [
                [
                    h.starts_on.isoformat(),
                    h.ends_on.isoformat(),
                    h.closed,
                    h.opens_at.strftime("%H:%M") if h.opens_at else None,
                    h.closes_at.strftime("%H:%M") if h.closes_at else None,
                ]
                for h in service.schedule_exceptions
            ],
        },
        ensure_ascii=False,
    )


def service_documents(service: Service) -> Iterator[dict]:
    """The documents of an active service; an inactive one has none (it vanishes from search)."""
    if service.status != "active":
        return
    terms = list(service.taxonomy_terms)
    labels = _labels(terms)
    names = " ".join(filter(None, [service.name, service.organization.name]))
    pinyin = " ".join(pinyin_keys(names + " " + " ".join(t.name for t in terms)))
    taxonomy = ",".join(_codes_with_ancestors(terms))
    languages = ",".join(lang.code for lang in service.languages)
    # Names and categories: searched first (the title tier), so a name match outranks a mention.
    title = "\n".join([service.name, service.alternate_name or "", service.organization.name, labels])
    common = {
        "service_id": service.id,
        "name": service.name,
        "alt_name": service.alternate_name or "",
        "org_name": service.organization.name,
        "org_alt_name": service.organization.alternate_name or "",
        "description": service.description or "",
        "taxonomy": taxonomy,
        "codes": ",".join(t.code for t in terms),
        "eligibility": service.eligibility_description or "",
        "pinyin": pinyin,
        # The words "did you mean" may offer; pinyin typos are corrected from the pinyin field.
        "spell": " ".join(filter(None, [names, service.alternate_name, labels])),
        "accepting": bool(service.accepting_referrals),
        "languages": languages,
        "hours": _hours(service),
        "rules_col": rules_bytes(service.eligibility_rules),
        # The areas it serves (directory/geo/areas.py): a search near a place they cover finds it.
        "areas": ",".join(area.area.key for area in service.service_areas),
    }
    body = [service.description or "", service.eligibility_description or ""]

    def document(doc_id: str, location_id: str, district: str, address: str) -> dict:
        flags = f"{taxonomy}|{district}|{int(bool(service.accepting_referrals))}|{languages}"
        return {
            **common,
            "doc_id": doc_id,
            "location_id": location_id,
            "district": district,
            "address": address,
            "all": "\n".join([title, address, *body]),
            "title": title,
            "filter_col": flags.encode("utf-8"),
        }

    locations = [loc for loc in service.locations if loc.active]
    if not locations:
        yield document(f"{service.id}:-", "", "", "")
        return
    for loc in locations:
        address = " ".join(filter(None, [loc.district, loc.address_1, loc.name]))
        doc = document(f"{service.id}:{loc.id}", loc.id, loc.district, address)
        if loc.latitude is not None and loc.longitude is not None:
            doc["lat"] = doc["lat_col"] = float(loc.latitude)
            doc["lon"] = doc["lon_col"] = float(loc.longitude)
        yield doc
