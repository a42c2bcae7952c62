"""What the browser tests check on every page a journey shows, and the words they look for.

- ``Catalogue``: the Flask-Babel catalogue (the committed .pot and Chinese .po, and a fresh extraction of
  the code and templates); ``tr(msgid)`` gives the words a user sees in a language, as gettext does
  (the English msgid when a Chinese translation is missing), and ``untranslated(texts, lang)`` finds
  the catalogue's English in the Chinese interface or its Chinese in the English one.
- ``Journey``: one user story in one language; ``look(page, step)`` checks the page (language,
  untranslated words, labels, no sideways scrolling at 390 px) and saves a desktop and a phone
  screenshot; the problems are collected and reported together by ``finish()``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from babel.messages.pofile import read_po

from tests.conftest import extract_messages

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "directory" / "translations"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"

DEMO_PASSWORD = "demo-journeys-2468"  # the demo users' password on the test servers (flask seed)
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

PLACEHOLDER = re.compile(r"%\(\w+\)[sdifr]|%[sdif]|\{\w*\}")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
LATIN = re.compile(r"[A-Za-z]")
# Two or more English words in a row: in the Chinese interface, text no catalogue entry explains
# (a template string never marked for translation).
ENGLISH_RUN = re.compile(r"[A-Za-z]{2,}(?:[ \-'’]+[A-Za-z]{2,})+")
# English that may stand in the Chinese interface: the brand, the language switch, units, acronyms.
ALLOWED_ENGLISH = {"lianjie", "english", "ok", "km", "hiv", "hsds", "csv", "api", "id"}
# Proper names are the same in both interfaces: the brand is written 链接 Lianjie in each.
PROPER_NAMES = {"Lianjie"}

# Visible text nodes, user-facing attributes and select options, with the element they belong to.
# Text inside an element marked with another language (lang="en" on an English alternate name, the
# language switch) is left out: it is meant to be in that language.
VISIBLE_TEXTS_JS = """
() => {
  const root = document.documentElement.lang || '';
  const base = root.slice(0, 2);
  const out = [];
  const describe = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    else if (el.classList.length) s += '.' + [...el.classList].slice(0, 2).join('.');
    return s;
  };
  const otherLanguage = (el) => {
    const marked = el.closest('[lang]');
    return marked && marked.getAttribute('lang').slice(0, 2) !== base;
  };
  const shown = (el) => {
    if (!el || el.closest('script, style, template, noscript')) return false;
    if (el.getClientRects().length === 0) return false;
    return getComputedStyle(el).visibility !== 'hidden';
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.nodeValue.replace(/\\s+/g, ' ').trim();
    const el = node.parentElement;
    if (!text || !shown(el) || otherLanguage(el)) continue;
    out.push({text, where: describe(el)});
  }
  for (const el of document.querySelectorAll('[placeholder], [aria-label], [title], img[alt], input[type=submit]')) {
    if (!shown(el) || otherLanguage(el)) continue;
    for (const name of ['placeholder', 'aria-label', 'title', 'alt', 'value']) {
      if (name === 'value' && el.type !== 'submit') continue;
      const value = (el.getAttribute(name) || '').trim();
      if (value) out.push({text: value, where: describe(el) + '[' + name + ']'});
    }
  }
  for (const option of document.querySelectorAll('select option')) {
    if (!shown(option.closest('select')) || otherLanguage(option)) continue;
    const text = option.textContent.replace(/\\s+/g, ' ').trim();
    if (text) out.push({text, where: describe(option.closest('select')) + ' option'});
  }
  out.push({text: document.title, where: 'title'});
  return {lang: root, texts: out};
}
"""

# Visible form controls without a label: a <label for>, a wrapping <label>, aria-label or aria-labelledby.
UNLABELLED_JS = """
() => [...document.querySelectorAll('input, select, textarea')]
  .filter((el) => !['hidden', 'submit', 'button', 'reset', 'image'].includes(el.type))
  .filter((el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden')
  .filter((el) => !(el.labels && [...el.labels].some((l) => l.textContent.trim()))
                  && !(el.getAttribute('aria-label') || '').trim() && !el.getAttribute('aria-labelledby'))
  .map((el) => el.tagName.toLowerCase() + (el.name ? '[name=' + el.name + ']' : ''))
"""

# The page's width, and the elements that stick out past the window: not those a scrolling box
# (a wide table) clips, unless they are absolutely placed and so may escape it.
OVERFLOW_JS = """
() => {
  const width = window.innerWidth;
  const clipped = (el) => {
    if (['absolute', 'fixed'].includes(getComputedStyle(el).position)) return false;
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== 'visible') return true;
    }
    return false;
  };
  const wide = [...document.querySelectorAll('body *')]
    .filter((el) => el.getBoundingClientRect().right > width + 1 && !clipped(el))
    .slice(-5)
    .map((el) => el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).split(' ')[0] : ''));
  return {scroll: document.documentElement.scrollWidth, width, wide};
}
"""

# Tables drawn as cards on phones (follow-ups, attempts, inbox, client list) must fit their box: no
# sideways scrolling inside it either.
SCROLLING_CARDS_JS = """
() => [...document.querySelectorAll('table.cards-on-phone')]
  .filter((el) => el.scrollWidth > el.clientWidth + 1 || el.getBoundingClientRect().right > window.innerWidth + 1)
  .map((el) => `table.${el.className.split(' ')[0]} (${el.scrollWidth} px in ${el.clientWidth} px)`)
"""

FOCUS_JS = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  return {
    tag: el.tagName.toLowerCase(), id: el.id, name: el.getAttribute('name') || '', text: el.textContent.trim(),
    focusVisible: el.matches(':focus-visible'), outlineStyle: style.outlineStyle,
    outlineWidth: parseFloat(style.outlineWidth) || 0, onScreen: box.bottom > 0 && box.top < window.innerHeight,
  };
}
"""


def _msg_strings(value) -> list[str]:
    if isinstance(value, (tuple, list)):
        return [v for v in value if v]
    return [value] if value else []


def _pattern(text: str, whole: bool) -> re.Pattern:
    """A regex for a catalogue string: placeholders match anything, spaces any spacing."""
    parts = PLACEHOLDER.split(text.replace("%%", "%"))
    body = ".+?".join(r"\s+".join(re.escape(w) for w in part.split()) for part in parts)
    if parts[0][:1].isspace():
        body = r"\s*" + body
    if whole:
        return re.compile(rf"\s*{body}\s*[:：.。]?\s*")
    if LATIN.match(text):
        body = r"(?<![A-Za-z])" + body
    if LATIN.match(text[-1:]):
        body += r"(?![A-Za-z])"
    return re.compile(body)


@dataclass
class Check:
    text: str
    pattern: re.Pattern
    whole: bool  # the whole text must be this string (short ones), else contain it


class Catalogue:
    """The English msgids and their Chinese translations."""

    def __init__(self, po: Path, pots: list[Path]):
        with po.open("rb") as handle:
            chinese = read_po(handle)
        self.zh: dict[str, str] = {}
        english: set[str] = set()
        for message in chinese:
            if not message.id:
                continue
            ids, strings = _msg_strings(message.id), _msg_strings(message.string)
            english.update(ids)
            if strings:  # Chinese has one plural form: it stands for the singular and the plural msgid
                for msgid in ids:
                    self.zh[msgid] = strings[0]
        for pot in pots:
            if pot.exists():
                with pot.open("rb") as handle:
                    for message in read_po(handle):
                        english.update(_msg_strings(message.id))
        self.english = sorted(english)
        zh_checks = (self._english_check(m) for m in self.english if m not in PROPER_NAMES)
        self._zh_checks = [c for c in zh_checks if c is not None]
        names = {self.zh.get(name) for name in PROPER_NAMES}
        en_checks = (self._chinese_check(s) for s in set(self.zh.values()) - names)
        self._en_checks = [c for c in en_checks if c is not None]
        for checks in (self._zh_checks, self._en_checks):  # the most specific string names a finding
            checks.sort(key=lambda c: len(c.text), reverse=True)

    @classmethod
    def load(cls, po: Path, tmp: Path) -> Catalogue:
        """The Chinese catalogue ``po`` plus the strings marked in the code and templates now."""
        fresh = extract_messages(tmp / "messages.pot")
        return cls(po, [TRANSLATIONS / "messages.pot", fresh])

    def tr(self, msgid: str, lang: str, **values) -> str:
        """What the interface shows for ``msgid`` in ``lang`` (gettext falls back to the English)."""
        text = (self.zh.get(msgid) or msgid) if lang == "zh" else msgid
        return text % values if values else text

    @staticmethod
    def _english_check(msgid: str) -> Check | None:
        literal = PLACEHOLDER.sub(" ", msgid)
        letters = len(LATIN.findall(literal))
        if letters < 3 or CJK.search(msgid) or literal.strip().lower() in ALLOWED_ENGLISH:
            return None
        # Short single words ("Refer", "Edit") count only as the whole text: a word inside a sentence
        # of data is no evidence. Longer strings count wherever they appear.
        whole = letters < 6 and " " not in literal.strip()
        return Check(msgid, _pattern(msgid, whole), whole)

    @staticmethod
    def _chinese_check(msgstr: str) -> Check | None:
        cjk = len(CJK.findall(PLACEHOLDER.sub("", msgstr)))
        if cjk < 2:
            return None
        # Data (names, notes, descriptions) is Chinese in both interfaces: a short catalogue string
        # counts only as the whole text, a sentence-long one wherever it appears.
        whole = cjk < 8
        return Check(msgstr, _pattern(msgstr, whole), whole)

    def untranslated(self, texts: list[dict], lang: str) -> list[str]:
        """The texts that are the catalogue's words in the other language ("text" at element)."""
        checks = self._zh_checks if lang == "zh" else self._en_checks
        found = []
        for item in texts:
            text = item["text"]
            if lang == "zh" and not LATIN.search(text):
                continue
            if lang == "en" and not CJK.search(text):
                continue
            hit = next((c for c in checks if (c.pattern.fullmatch(text) if c.whole else c.pattern.search(text))), None)
            if hit is None and lang == "zh":
                run = next(
                    (m.group(0) for m in ENGLISH_RUN.finditer(text) if m.group(0).lower() not in ALLOWED_ENGLISH),
                    None,
                )
                if run:
                    hit = Check(run, ENGLISH_RUN, False)
            if hit is not None:
                found.append(f"“{text[:120]}” at {item['where']} (catalogue: “{hit.text[:80]}”)")
        return found


def long_date(day: date, lang: str) -> str:
    """A date as each interface writes it: 2026年11月23日 / Nov 23, 2026."""
    if lang == "zh":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.strftime('%b')} {day.day}, {day.year}"


def long_date_pattern(lang: str) -> re.Pattern:
    """Any date written as the interface writes dates."""
    return re.compile(r"\d{4}年\d{1,2}月\d{1,2}日" if lang == "zh" else r"[A-Z][a-z]{2} \d{1,2}, \d{4}")


@dataclass
class Journey:
    """One user story in one language: the page checks and the screenshots, problems kept for the end."""

    name: str
    lang: str
    catalogue: Catalogue
    viewport: dict  # the size the story is driven at; screenshots are taken at both sizes
    problems: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    contexts: list = field(default_factory=list)

    def open(self, browser, base_url: str):
        """A page in a new browser context (a user of its own), closed by ``finish()``."""
        context = browser.new_context(viewport=self.viewport, base_url=base_url, locale="zh-CN")
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        return context.new_page()

    def tr(self, msgid: str, **values) -> str:
        return self.catalogue.tr(msgid, self.lang, **values)

    def look(self, page, step: str, lang: str | None = None) -> None:
        """Check the page shown now and save its screenshots (desktop and phone)."""
        lang = lang or self.lang
        label = f"{step} ({page.url})"
        self.steps.append(step)
        seen = page.evaluate(VISIBLE_TEXTS_JS)
        wanted = "zh-CN" if lang == "zh" else "en"
        if seen["lang"] != wanted:
            self.problems.append(f"{label}: the page is in '{seen['lang']}', not '{wanted}'")
        for text in self.catalogue.untranslated(seen["texts"], lang):
            self.problems.append(f"{label}: untranslated {text}")
        for control in page.evaluate(UNLABELLED_JS):
            self.problems.append(f"{label}: form control without a label: {control}")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for size_name, size in (("phone", PHONE), ("desktop", DESKTOP)):
            page.set_viewport_size(size)
            if size is PHONE:
                layout = page.evaluate(OVERFLOW_JS)
                if layout["scroll"] > layout["width"]:
                    self.problems.append(
                        f"{label}: scrolls sideways at {layout['width']} px "
                        f"(page {layout['scroll']} px wide; too wide: {', '.join(layout['wide']) or '?'})"
                    )
                for table in page.evaluate(SCROLLING_CARDS_JS):
                    self.problems.append(f"{label}: {table} scrolls sideways at {layout['width']} px")
            page.screenshot(path=str(SCREENSHOTS / f"{self.name}-{self.lang}-{size_name}-{step}.png"), full_page=True)
        page.set_viewport_size(self.viewport)

    def finish(self) -> None:
        for context in self.contexts:
            context.close()
        assert not self.problems, f"{len(self.problems)} problem(s) on the pages of {self.name} ({self.lang}):\n" + (
            "\n".join(self.problems)
        )


def focused(page) -> dict | None:
    """The element that has the keyboard focus, with how its focus shows."""
    return page.evaluate(FOCUS_JS)


def tab_to(page, selector: str, limit: int = 25) -> dict:
    """Press Tab until the element matching ``selector`` has the focus; return how the focus shows."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return focused(page)
    raise AssertionError(f"Tab never reached {selector}")


def focus_is_visible(info: dict | None) -> bool:
    return bool(info and info["focusVisible"] and info["outlineStyle"] != "none" and info["outlineWidth"] >= 2)
