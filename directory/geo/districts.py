"""Guangzhou's eleven districts, in the order the pages list them (the catalog, eligibility rules,
search filters, reports and the HSDS files all share this one list)."""

from __future__ import annotations

DISTRICTS = (
    "越秀区",
    "荔湾区",
    "海珠区",
    "天河区",
    "白云区",
    "黄埔区",
    "番禺区",
    "花都区",
    "南沙区",
    "从化区",
    "增城区",
)
