"""The glossary (locales/GLOSSARY.md) is followed, and the check that reads it catches a term
translated off-glossary, a word to avoid and foreign digits; reused short strings have contexts."""

from __future__ import annotations

import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.pofile import read_po, write_po

from bot.i18n import LOCALES_DIR, I18n
from bot.i18n_tools import (
    GLOSSARY_NAME,
    check,
    extract,
    fold,
    load_glossary,
    parse_glossary,
    po_path,
)

#: The twelve catalogs the glossary covers (a new variety gets a column when it is reviewed).
GLOSSARY_LOCALES = ("de", "tr", "ar", "uk", "el", "ro", "pl", "it", "fa", "ku", "ru", "en")
OFFICE = "Please ask the neighbourhood office for details."


@pytest.fixture
def locales_copy(tmp_path: Path) -> Path:
    target = tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, target)
    return target


def _edit(locales_dir: Path, locale: str, msgid: str, new: str, context: str | None = None) -> None:
    path = po_path(locale, locales_dir)
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    message = catalog.get(msgid, context=context)
    assert message is not None, (locale, context, msgid)
    message.string = new
    with path.open("wb") as handle:
        write_po(handle, catalog)


def _glossary_problems(locales_dir: Path = LOCALES_DIR) -> list[tuple[str, str, str]]:
    return [
        (p.locale, p.msgid, p.what)
        for p in check(GLOSSARY_LOCALES, locales_dir, root=None)
        if p.what.startswith("glossary") or p.locale == "glossary"
    ]


def test_the_glossary_covers_25_terms_in_every_language() -> None:
    glossary = load_glossary()
    assert glossary is not None
    complete = [term for term in glossary.terms if set(term.forms) == set(GLOSSARY_LOCALES)]
    assert len(complete) >= 25, [term.id for term in complete]
    assert {term.id for term in glossary.terms} >= {"office", "event", "signup", "skip", "news"}
    assert glossary.latin_digits == set(GLOSSARY_LOCALES)  # fa too: decided, not babel's default
    office = next(term for term in glossary.terms if term.id == "office")
    assert all(
        ("quartiersburo",) in [parts[-1:] for parts in office.forms[loc]] for loc in office.forms
    )


def test_every_catalog_follows_the_glossary() -> None:
    assert _glossary_problems() == []


def test_check_flags_a_term_translated_off_glossary(locales_copy: Path) -> None:
    # "biuro dzielnicy" was the old Polish name: a city district's office, and no German name
    _edit(locales_copy, "pl", OFFICE, "Po szczegóły zgłoś się do biura dzielnicy.")
    assert _glossary_problems(locales_copy) == [
        (
            "pl",
            OFFICE,
            'glossary: office ("neighbourhood office")'
            ' should read "biur + osiedla + Quartiersbüro"',
        ),
        (
            "pl",
            OFFICE,
            'glossary: avoid "dzielnic", write osiedle (neighbourhood), biuro osiedla',
        ),
    ]


def test_declined_forms_pass_and_both_parts_are_needed(locales_copy: Path) -> None:
    _edit(locales_copy, "uk", OFFICE, "Подробиці можна дізнатися в бюро кварталу.")  # no German
    _edit(locales_copy, "tr", OFFICE, "Ayrıntılar için MAHALLE OFİSİNE (Quartiersbüro) gidin.")
    problems = _glossary_problems(locales_copy)
    assert [(locale, what.split(" (")[0]) for locale, _, what in problems] == [
        ("uk", "glossary: office")
    ]


def test_check_flags_skip_translated_as_reject(locales_copy: Path) -> None:
    """The Persian catalog once said رد کردن ("reject") on the Skip button."""
    _edit(locales_copy, "fa", "⏭ Skip", "⏭ رد کردن")
    assert [(p[0], p[1]) for p in _glossary_problems(locales_copy)] == [("fa", "⏭ Skip")]


def test_check_flags_a_word_to_avoid_and_foreign_digits(locales_copy: Path) -> None:
    _edit(
        locales_copy,
        "ku",
        "😕 Sorry, this task has just been taken by enough people.",
        "😕 Bibore, ji bo vî karî êdî têra xwe kes hene.",
    )
    _edit(
        locales_copy, "fa", "Please send a number, for example 3.", "لطفاً یک عدد بفرستید، مثلاً ۳."
    )
    assert [(p[0], p[2]) for p in _glossary_problems(locales_copy)] == [
        ("fa", "glossary: digits are Latin (0-9), not ۳"),
        ("ku", 'glossary: avoid "re:\\bbibore\\b", write Biborin (hûn)'),
    ]


def test_an_untranslated_message_is_reported_once(locales_copy: Path) -> None:
    _edit(locales_copy, "it", OFFICE, "")
    problems = check(GLOSSARY_LOCALES, locales_copy, root=None)
    assert [(p.locale, p.msgid, p.what) for p in problems if p.msgid == OFFICE] == [
        ("it", OFFICE, "untranslated")
    ]


def test_the_check_names_the_context_of_a_message(locales_copy: Path) -> None:
    _edit(locales_copy, "el", "↩️ No, keep it", "", context="cancel sign-up")
    problems = check(GLOSSARY_LOCALES, locales_copy, root=None)
    assert [(p.locale, p.msgid, p.what) for p in problems if "keep it" in p.msgid] == [
        ("el", "cancel sign-up|↩️ No, keep it", "untranslated")
    ]


def test_a_broken_glossary_is_reported(locales_copy: Path) -> None:
    (locales_copy / GLOSSARY_NAME).write_text(
        "# Glossary\n\n| lang | avoid | instead |\n|---|---|---|\n"
    )
    assert _glossary_problems(locales_copy) == [
        (
            "glossary",
            GLOSSARY_NAME,
            "unreadable (no term table (a header starting | id | english |))",
        )
    ]


def test_term_matching_rules() -> None:
    glossary = parse_glossary(
        "| id | english | match | de | fa |\n"
        "|---|---|---|---|---|\n"
        "| idea | idea | `idea / ideas` | Idee | — |\n"
        "| done | Done (button) | `re:(?-i:^\\W*Done$)` | Fertig | تمام |\n"
        "| office | neighbourhood office | | Quartiersbüro / Büro + Quartier | دفتر محله |\n"
    )
    idea, done, office = glossary.terms
    assert idea.applies_to("💡 <b>Ideas</b> for {name}") and not idea.applies_to("An ideal {idea}")
    assert idea.fits("de", "Ihre IDEEN") and "fa" not in idea.forms  # — is not checked
    assert done.applies_to("✔️ Done") and not done.applies_to("✅ done")
    assert office.applies_to("Ask the Neighbourhood Office.")  # no match: the English words
    assert office.fits("de", "im Büro im Quartier") and not office.fits("de", "im Büro")
    assert office.fits("fa", "از دفترِ محله")  # harakat and zero-width joiners are folded away
    assert fold("Plätze ŞEHİR Έργο") == "platze sehir εργο"


def test_no_keep_it_has_one_context_per_question() -> None:
    """The same words answer "cancel your sign-up?" and "delete all your data?"."""
    found = {(m.context, m.id): m for m in extract() if m.id == "↩️ No, keep it"}
    assert set(found) == {("cancel sign-up", "↩️ No, keep it"), ("delete data", "↩️ No, keep it")}
    assert all(m.auto_comments for m in found.values())  # with a Translators: comment each
    i18n = I18n(GLOSSARY_LOCALES, "de", ZoneInfo("Europe/Berlin"))
    for locale in GLOSSARY_LOCALES:
        t = i18n.translator(locale)
        signup = t.pgettext("cancel sign-up", "↩️ No, keep it")
        data = t.pgettext("delete data", "↩️ No, keep it")
        assert signup != data, locale
    de = i18n.translator("de")
    assert de.pgettext("delete data", "↩️ No, keep it") == "↩️ Nein, nicht löschen"
    assert de.pgettext("cancel sign-up", "↩️ No, keep it") == "↩️ Nein, angemeldet bleiben"


def test_on_and_off_agree_with_what_they_describe() -> None:
    ru = I18n(GLOSSARY_LOCALES, "de", ZoneInfo("Europe/Berlin")).translator("ru")
    assert ru.pgettext("news messages", "on") == "включены"  # новости, plural
    assert ru.pgettext("weekly overview", "on") == "включён"  # обзор недели, masculine
