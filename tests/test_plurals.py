"""Plural forms: each count gets the form CLDR's rules give it, in the languages with many forms.

For Arabic, Ukrainian, Russian and Polish, and counts that land in every category (0, 1, 2, 3,
5, 11, 21, 100): babel's CLDR rule names the category; the catalog's Plural-Forms expression must
pick the form written for that category, the translator must return that msgstr, and the
msgstr must show the number. Arabic writes zero, one and two in words ("بالغ واحد", "طفلان"),
so those forms may leave the number out.
"""

from __future__ import annotations

import gettext
from zoneinfo import ZoneInfo

import pytest
from babel import Locale
from babel.messages.pofile import read_po

from bot.i18n import I18n
from bot.i18n_tools import po_path

COUNTS = (0, 1, 2, 3, 5, 11, 21, 100)
MSGIDS = (
    ("{count} adult", "{count} adults"),
    ("{count} child", "{count} children"),
    ("{count} resident", "{count} residents"),
    ("🟢 {count} seat left", "🟢 {count} seats left"),
    ("🎉 {count} neighbour supports your idea:", "🎉 {count} neighbours support your idea:"),
)

#: CLDR's categories for the counts above, written out: the test states the rule itself.
CATEGORIES = {
    "ar": ("zero", "one", "two", "few", "few", "many", "many", "other"),
    "uk": ("many", "one", "few", "few", "many", "many", "one", "many"),
    "ru": ("many", "one", "few", "few", "many", "many", "one", "many"),
    "pl": ("many", "one", "few", "few", "many", "many", "many", "many"),
}
#: Which catalog form (msgstr[i]) serves which category, in the order babel writes them.
FORM_OF = {
    "ar": {"zero": 0, "one": 1, "two": 2, "few": 3, "many": 4, "other": 5},
    "uk": {"one": 0, "few": 1, "many": 2, "other": 2},
    "ru": {"one": 0, "few": 1, "many": 2, "other": 2},
    "pl": {"one": 0, "few": 1, "many": 2, "other": 2},
}
#: Forms that say the number in words.
IN_WORDS = {"ar": {"zero", "one", "two"}}


@pytest.fixture(scope="module")
def i18n() -> I18n:
    return I18n(tuple(CATEGORIES), "uk", ZoneInfo("Europe/Berlin"))


@pytest.mark.parametrize("locale", sorted(CATEGORIES))
def test_babel_gives_the_cldr_categories(locale: str) -> None:
    rule = Locale.parse(locale).plural_form
    assert tuple(rule(n) for n in COUNTS) == CATEGORIES[locale]


@pytest.mark.parametrize("locale", sorted(CATEGORIES))
@pytest.mark.parametrize(("singular", "plural"), MSGIDS)
def test_each_count_gets_its_form_and_shows_the_number(
    i18n: I18n, locale: str, singular: str, plural: str
) -> None:
    with po_path(locale).open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    message = catalog[singular]
    assert message is not None and message.pluralizable, singular
    forms = tuple(message.string)
    assert len(forms) == catalog.num_plurals == len(set(FORM_OF[locale].values()))
    choose = gettext.c2py(catalog.plural_expr)
    t = i18n.translator(locale)
    for n, category in zip(COUNTS, CATEGORIES[locale], strict=True):
        index = choose(n)
        assert index == FORM_OF[locale][category], f"{locale} {n}: form {index}, not {category}"
        shown = t.ngettext(singular, plural, n)
        assert shown == forms[index], f"{locale} {n}: {shown!r} is not msgstr[{index}]"
        number = t.format_number(n)
        text = shown.format(count=number)
        if "{count}" in forms[index]:
            assert number in text, f"{locale} {n}: {text!r}"
        else:
            assert category in IN_WORDS.get(locale, set()), f"{locale} {n}: no number in {text!r}"
