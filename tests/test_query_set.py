"""Everyday queries on the demo catalog: what a caseworker types, and what they expect in the top 3.

The queries live in tests/query_sets/*.yaml, one file per kind of query. Each entry:

    - query: 找工作              # what is typed in the search box (may be empty when near is given)
      kind: colloquial           # simplified, traditional, typo, pinyin, english, colloquial, jargon, place
      near: 番禺区 市桥           # optional: the place box
      top3_any_key: [e-...]      # optional: seed keys of services; one of them must be in the top 3
      top3_any_term: [employment]  # optional: taxonomy codes; a top-3 service must carry one of them
      why: ...                   # optional: why a caseworker expects this

The expectations were chosen by reading the catalog (seed_data/catalog), not by running the engine. The
query set as a whole must pass at 95 % or more; the page and the API must give the same results.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from directory.models_base import id_from_key

QUERY_SETS = Path(__file__).parent / "query_sets"
PASS_RATE = 0.95


def load_queries() -> list[dict]:
    entries = []
    for path in sorted(QUERY_SETS.glob("*.yaml")):
        for entry in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            entries.append({**entry, "file": path.name})
    return entries


def api_top(client, entry: dict, n: int = 3) -> list[dict]:
    params = {"q": entry.get("query", ""), "per_page": n}
    if entry.get("near"):
        params["near"] = entry["near"]
    response = client.get("/api/v1/search", query_string=params)
    assert response.status_code == 200, (entry, response.get_data(as_text=True)[:300])
    return response.get_json()["contents"]


def meets_expectation(entry: dict, top: list[dict]) -> bool:
    keys = {id_from_key("service", key) for key in entry.get("top3_any_key") or []}
    terms = set(entry.get("top3_any_term") or [])
    if not keys and not terms:
        raise ValueError(f"query {entry['query']!r} in {entry['file']} names no expected service")
    return any(item["service_id"] in keys or terms & set(item["taxonomy_term_codes"]) for item in top)


def test_the_query_set_is_well_formed():
    entries = load_queries()
    seen = set()
    for entry in entries:
        assert entry.get("query") or entry.get("near"), entry
        assert entry.get("kind"), entry
        assert entry.get("top3_any_key") or entry.get("top3_any_term"), entry
        seen.add((entry.get("query"), entry.get("near")))
    assert len(seen) == len(entries), "a query is listed twice"


def test_everyday_queries_find_what_a_caseworker_expects(seeded_client):
    entries = load_queries()
    if not entries:
        pytest.skip("no query set yet")
    failures = [
        f"{e['file']}: {e.get('query')!r} near {e.get('near')!r} → {[i['name'] for i in top]}"
        for e in entries
        if not meets_expectation(e, top := api_top(seeded_client, e))
    ]
    rate = 1 - len(failures) / len(entries)
    assert rate >= PASS_RATE, f"{rate:.0%} of {len(entries)} queries pass; failing:\n" + "\n".join(failures)
