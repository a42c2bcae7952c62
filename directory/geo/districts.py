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
# Their English names (the gazetteer's aliases), shown in the English UI (i18n.district_name).
DISTRICT_NAMES_EN = {
    "越秀区": "Yuexiu District",
    "荔湾区": "Liwan District",
    "海珠区": "Haizhu District",
    "天河区": "Tianhe District",
    "白云区": "Baiyun District",
    "黄埔区": "Huangpu District",
    "番禺区": "Panyu District",
    "花都区": "Huadu District",
    "南沙区": "Nansha District",
    "从化区": "Conghua District",
    "增城区": "Zengcheng District",
}
