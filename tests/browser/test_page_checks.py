"""The page checks of the journeys can fail: pages made to break them are caught, and only there."""

from __future__ import annotations

from tests.browser.ui import PHONE, Journey

SHARED = """
<header><a class="brand" href="/">链接 <span>Lianjie</span></a>
  <button type="button" lang="{other}">{switch}</button></header>
"""


def look(browser, catalogue, lang: str, body: str) -> list[str]:
    journey = Journey("page-checks", lang, catalogue, PHONE)
    page = browser.new_page(viewport=PHONE)
    html_lang, other, switch = ("zh-CN", "en", "English") if lang == "zh" else ("en", "zh-CN", "中文")
    page.set_content(
        f'<!doctype html><html lang="{html_lang}"><head><meta charset="utf-8"><title>{lang}</title></head>'
        f"<body>{SHARED.format(other=other, switch=switch)}<main>{body}</main></body></html>"
    )
    journey.look(page, "crafted")
    page.close()
    return journey.problems


def test_english_in_the_chinese_interface_is_found(browser, catalogue):
    problems = look(
        browser,
        catalogue,
        "zh",
        f"""
        <h1>{catalogue.tr("Search", "zh")}</h1>
        <p lang="en">Methadone maintenance treatment clinic, Yuexiu</p>
        <p>为阿片类物质依赖者提供药物维持治疗（MMT），定期开展 HIV 检测。0.8 km</p>
        <label for="q">{catalogue.tr("What", "zh")}</label><input id="q" name="q">
        <button type="submit">Save the attempt</button>
        <p>Call the clinic before you go.</p>
        <input name="alias" placeholder="Name or alias">
        <p style="display: none">Save the attempt</p>
        <div style="width: 600px">很宽的内容</div>
        """,
    )
    text = "\n".join(problems)
    assert "“Save the attempt” at button" in text
    assert "“Call the clinic before you go.” at p" in text
    assert "“Name or alias” at input[placeholder]" in text
    assert "form control without a label: input[name=alias]" in text
    assert "scrolls sideways at 390 px (page 6" in text and "div" in text
    assert len(problems) == 5, text  # not the English alternate name, the brand, the switch, data or hidden text


def test_chinese_in_the_english_interface_is_found(browser, catalogue):
    short = catalogue.tr("Save the attempt", "zh")
    sentence = catalogue.tr("Refusal recorded. Don't give up: the next resources to try are below.", "zh")
    assert short != "Save the attempt" and sentence.isascii() is False
    problems = look(
        browser,
        catalogue,
        "en",
        f"""
        <h1>Referral to 美沙酮维持治疗门诊（越秀）</h1>
        <p class="org">广州市皮肤病防治所</p>
        <table><tr><td>门诊说新入组已满，至少排队一个月。</td><td>{short}</td></tr></table>
        <p class="flash">{sentence}</p>
        <label for="note">Note</label><textarea id="note" name="note"></textarea>
        """,
    )
    text = "\n".join(problems)
    assert f"“{short}” at td" in text
    assert f"“{sentence}” at p.flash" in text
    assert len(problems) == 2, text  # not the names of the service and the organization, nor the note
