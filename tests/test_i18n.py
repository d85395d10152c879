"""The catalogs are complete, and the check that guards them really catches mistakes."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel import __version__ as babel_version
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po, write_po

from bot.config import DEFAULT_LOCALES, PROJECT_ROOT
from bot.i18n import FSI, LOCALES_DIR, PDI, I18n, language_name
from bot.i18n_tools import POT_NAME, check, extract, po_path, render_pot, template_content
from bot.locales import babel_locale

BERLIN = ZoneInfo("Europe/Berlin")


def test_every_locale_is_complete_and_the_template_is_current() -> None:
    problems = check(DEFAULT_LOCALES)
    assert problems == [], "\n".join(map(str, problems))


@pytest.fixture
def locales_copy(tmp_path: Path) -> Path:
    target = tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, target)
    return target


def _edit(locales_dir: Path, locale: str, msgid: str, new: str | tuple[str, ...]) -> None:
    path = po_path(locale, locales_dir)
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    catalog[msgid].string = new
    with path.open("wb") as handle:
        write_po(handle, catalog)


def test_check_fails_when_a_translation_is_removed(locales_copy: Path) -> None:
    _edit(locales_copy, "tr", "Main menu", "")
    problems = check(DEFAULT_LOCALES, locales_copy, root=None)
    assert [(p.locale, p.msgid, p.what) for p in problems] == [("tr", "Main menu", "untranslated")]


def test_check_fails_when_a_placeholder_is_changed(locales_copy: Path) -> None:
    msgid = "✅ Language changed to {language}."
    _edit(locales_copy, "ar", msgid, "✅ تم تغيير اللغة إلى {lugha}.")
    problems = check(DEFAULT_LOCALES, locales_copy, root=None)
    assert len(problems) == 1 and problems[0].locale == "ar"
    assert "placeholders" in problems[0].what


def test_check_fails_on_a_broken_placeholder_or_missing_tag(locales_copy: Path) -> None:
    _edit(locales_copy, "de", "✅ Language changed to {language}.", "Sprache: {language")
    _edit(locales_copy, "pl", "🏠 <b>Main menu</b>\nWhat would you like to do?", "Menu główne")
    problems = {
        (p.locale, p.what.split(" ")[0]) for p in check(DEFAULT_LOCALES, locales_copy, root=None)
    }
    assert problems == {("de", "broken"), ("pl", "HTML")}


def test_check_fails_on_a_wrong_number_of_plural_forms(locales_copy: Path) -> None:
    _edit(locales_copy, "ar", "{count} topic", ("{count}", "{count}"))
    problems = check(DEFAULT_LOCALES, locales_copy, root=None)
    assert [p.what for p in problems] == ["2 plural forms, ar needs 6"]


def test_check_fails_when_italian_lacks_the_form_for_millions(locales_copy: Path) -> None:
    _edit(
        locales_copy,
        "it",
        "🟢 {count} seat left",
        ("🟢 Resta {count} posto", "🟢 Restano {count} posti"),
    )
    problems = check(DEFAULT_LOCALES, locales_copy, root=None)
    assert [str(p) for p in problems] == ["it: 2 plural forms, it needs 3: '🟢 {count} seat left'"]


def test_check_fails_on_a_catalog_written_for_older_plural_rules(locales_copy: Path) -> None:
    """Turkish as CLDR had it before babel 2.19: one form, and a header that says so."""
    path = po_path("tr", locales_copy)
    with path.open("rb") as handle:
        catalog = read_po(handle, locale="tr")
    catalog.mime_headers = [("Plural-Forms", "nplurals=1; plural=0;")]
    plurals = [message for message in catalog if message.pluralizable]
    for message in plurals:
        message.string = tuple(message.string[:1])
    with path.open("wb") as handle:
        write_po(handle, catalog)
    problems = check(DEFAULT_LOCALES, locales_copy, root=None)
    assert {p.locale for p in problems} == {"tr"}
    assert "Plural-Forms header is not babel" in problems[0].what
    assert [p.what for p in problems[1:]] == ["1 plural forms, tr needs 2"] * len(plurals)


@pytest.mark.parametrize("locale", DEFAULT_LOCALES)
def test_plural_forms_header_is_babels(locale: str) -> None:
    with po_path(locale).open("rb") as handle:
        header = read_po(handle, locale=locale).plural_forms
    expected = get_plural(babel_locale(locale)).plural_forms  # de_simple: German's
    assert header == expected, (
        f"{locale}: the catalog says {header!r}, babel {babel_version} (CLDR) says {expected!r}."
        " Set the header to babel's and move each translation to the form that now serves its"
        " numbers (docs/TRANSLATING.md, 'Plural forms')."
    )


def test_check_fails_when_the_template_is_stale(locales_copy: Path, tmp_path: Path) -> None:
    fake_root = tmp_path / "code"
    (fake_root / "bot").mkdir(parents=True)
    (fake_root / "handlers").mkdir()
    (fake_root / "handlers" / "new.py").write_text('_ = str\nprint(_("A brand new message"))\n')
    problems = check(["de"], locales_copy, root=fake_root)
    whats = {p.msgid: p.what for p in problems}
    assert "not in messages.pot" in whats["A brand new message"]
    assert any("no longer in the code" in what for what in whats.values())


def test_committed_template_is_what_extraction_writes() -> None:
    """Byte for byte, except the lines naming babel's version and a creation date."""
    committed = (LOCALES_DIR / POT_NAME).read_bytes()
    assert template_content(committed) == template_content(render_pot(extract()))


def _rewrite_pot(locales_dir: Path, old: str, new: str) -> None:
    """Write what extraction gives now into ``locales_dir``, with one change made by hand."""
    text = render_pot(extract()).decode()
    assert old in text
    (locales_dir / POT_NAME).write_text(text.replace(old, new, 1), encoding="utf-8")


def test_template_check_ignores_the_generator_lines(locales_copy: Path) -> None:
    """What another babel version writes (its name, a creation date) is not a change."""
    _rewrite_pot(
        locales_copy,
        f'"Generated-By: Babel {babel_version}\\n"\n',
        '"POT-Creation-Date: 2020-01-01 00:00+0000\\n"\n"Generated-By: Babel 0.9.6\\n"\n',
    )
    assert check([], locales_copy, root=PROJECT_ROOT) == []


def test_template_check_fails_when_comments_or_locations_change(locales_copy: Path) -> None:
    _rewrite_pot(
        locales_copy,
        '#: handlers/shared/groups.py\n#, python-brace-format\nmsgid "{count} member"',
        '#: handlers/clubs.py\n#, python-brace-format\nmsgid "{count} member"',
    )
    assert [str(p) for p in check([], locales_copy, root=PROJECT_ROOT)] == [
        "pot: locations changed in the code; run `make i18n-extract`:"
        " \"('{count} member', '{count} members')\""
    ]
    _rewrite_pot(
        locales_copy,
        '#: handlers/shared/events.py\n#, python-brace-format\nmsgid "{count} child"',
        "#. Translators: children under 14\n"
        '#: handlers/shared/events.py\n#, python-brace-format\nmsgid "{count} child"',
    )
    assert [p.what for p in check([], locales_copy, root=PROJECT_ROOT)] == [
        "comments changed in the code; run `make i18n-extract`"
    ]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (
            "#: handlers/shared/groups.py\n#, python-brace-format\n",
            "#: handlers/shared/groups.py\n",
        ),
        ("quartierbot VERSION", "quartierbot 9.9"),
    ],
    ids=["flag", "header"],
)
def test_template_check_fails_when_a_flag_or_the_header_changes(
    locales_copy: Path, old: str, new: str
) -> None:
    _rewrite_pot(locales_copy, old, new)
    problems = check([], locales_copy, root=PROJECT_ROOT)
    assert [(p.locale, p.msgid) for p in problems] == [("pot", POT_NAME)]


def test_plural_forms_follow_cldr_in_arabic_and_ukrainian() -> None:
    i18n = I18n(DEFAULT_LOCALES, "de", BERLIN)
    ar, uk = i18n.translator("ar"), i18n.translator("uk")
    arabic = {n: ar.ngettext("{count} topic", "{count} topics", n) for n in (0, 1, 2, 3, 11, 100)}
    assert len(set(arabic.values())) == 6, arabic
    ukrainian = {
        n: uk.ngettext("{count} topic", "{count} topics", n) for n in (1, 2, 5, 21, 22, 25)
    }
    assert ukrainian[1] == ukrainian[21] and ukrainian[2] == ukrainian[22]
    assert ukrainian[5] == ukrainian[25] and len(set(ukrainian.values())) == 3


def test_locale_resolution_order() -> None:
    i18n = I18n(DEFAULT_LOCALES, "de", BERLIN)
    assert i18n.resolve("fa", "tr") == "fa"  # the saved choice wins
    assert i18n.resolve(None, "tr") == "tr"  # then Telegram's language_code
    assert i18n.resolve(None, "uk-UA") == "uk"
    assert i18n.resolve(None, "pt-BR") == "de"  # then the default
    assert i18n.resolve("xx", None) == "de"


def test_simple_german_is_chosen_never_suggested() -> None:
    i18n = I18n(DEFAULT_LOCALES, "de", BERLIN)
    assert "de_simple" in i18n.locales
    for code in ("de", "de-DE", "de-AT", "de_simple", "de-simple"):
        assert i18n.match(code) == "de", code
    assert i18n.resolve("de_simple", "tr") == "de_simple"  # a resident's choice is kept
    # Without German itself, German speakers get the default, not simple German.
    assert I18n(("en", "de_simple"), "en", BERLIN).match("de") is None


def test_simple_german_formats_dates_numbers_and_plurals_as_german() -> None:
    i18n = I18n(DEFAULT_LOCALES, "de", BERLIN)
    de, simple = i18n.translator("de"), i18n.translator("de_simple")
    assert simple.babel_locale == babel_locale("de") and not simple.rtl
    assert simple.language_tag == "de"  # HTML lang (the flyer) is German
    assert language_name("de_simple") == simple.language_name == "Deutsch (einfach)"
    moment = datetime(2026, 3, 29, 8, 30, tzinfo=UTC)
    for format in ("short", "medium", "long"):
        assert simple.format_datetime(moment, format) == de.format_datetime(moment, format)
    assert simple.format_date(moment) == de.format_date(moment) == "29. März 2026"
    assert simple.format_number(1234567.5) == "1.234.567,5"
    assert simple.format_list(["A", "B", "C"]) == "A, B und C"
    seats = ("🟢 {count} seat left", "🟢 {count} seats left")
    assert [simple.ngettext(*seats, n) for n in (0, 1, 2)] == [
        "🟢 Noch {count} Plätze frei",
        "🟢 Noch {count} Platz frei",
        "🟢 Noch {count} Plätze frei",
    ]
    menu = "🏠 <b>Main menu</b>\nWhat would you like to do?"
    assert simple.gettext(menu) != de.gettext(menu)  # its own catalog, not German's


def test_dates_and_numbers_in_the_residents_locale_and_time_zone() -> None:
    i18n = I18n(DEFAULT_LOCALES, "de", BERLIN)
    moment = datetime(2026, 3, 29, 8, 30, tzinfo=UTC)  # 10:30 in Berlin, after the DST change
    assert i18n.translator("de").format_datetime(moment, "short") == "29.03.26, 10:30"
    assert i18n.translator("en").format_time(moment) == "10:30\u202fAM"
    assert i18n.translator("de").format_number(1234567) == "1.234.567"
    arabic = i18n.translator("ar").format_date(moment)
    assert arabic.startswith(FSI) and arabic.endswith(PDI)


def test_missing_translation_falls_back_to_the_default_language(tmp_path: Path) -> None:
    locales = tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, locales)
    _edit(locales, "it", "Main menu", "")
    i18n = I18n(DEFAULT_LOCALES, "de", BERLIN, locales_dir=locales)
    assert i18n.translator("it").gettext("Main menu") == i18n.translator("de").gettext("Main menu")


def test_commands_stay_one_left_to_right_unit_in_rtl_messages() -> None:
    i18n = I18n(DEFAULT_LOCALES, "de", BERLIN)
    msgid = "👋 To begin, send /start and choose your language."
    assert f"{FSI}/start{PDI}" in i18n.translator("fa").gettext(msgid)
    assert FSI not in i18n.translator("tr").gettext(msgid)
    menu = i18n.translator("ar").gettext("🏠 <b>Main menu</b>\nWhat would you like to do?")
    assert "</b>" in menu  # closing tags are not commands


def test_arabic_counts_take_the_right_case() -> None:
    """11-99 take the accusative singular, 100-102 the genitive (CLDR 'many' vs 'other')."""
    ar = I18n(DEFAULT_LOCALES, "de", BERLIN).translator("ar")
    for singular, plural in [
        ("{count} topic", "{count} topics"),
        ("{count} member", "{count} members"),
    ]:
        for n in (11, 21, 99, 111):
            assert "ًا" in ar.ngettext(singular, plural, n), n
        for n in (100, 101, 102, 200):
            assert "ًا" not in ar.ngettext(singular, plural, n), n


def test_italian_millions_and_persian_zero_and_one() -> None:
    i18n = I18n(DEFAULT_LOCALES, "de", BERLIN)
    it, fa = i18n.translator("it"), i18n.translator("fa")
    seats = ("🟢 {count} seat left", "🟢 {count} seats left")
    assert it.ngettext(*seats, 1_000_000) == "🟢 Restano {count} di posti"  # 1.000.000 di posti
    assert it.ngettext(*seats, 3_000_000) == it.ngettext(*seats, 1_000_000)
    assert it.ngettext(*seats, 1_000_001) == "🟢 Restano {count} posti"
    assert it.ngettext(*seats, 0) == it.ngettext(*seats, 2)
    neighbours = (
        "🎉 {count} neighbour supports your idea:",
        "🎉 {count} neighbours support your idea:",
    )
    assert fa.ngettext(*neighbours, 0) == fa.ngettext(*neighbours, 1) != fa.ngettext(*neighbours, 2)
