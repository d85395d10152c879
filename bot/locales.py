"""Catalog locales and the babel (CLDR) locale that formats for each.

A catalog locale names a directory under ``locales/``, a ``LOCALES`` entry and a choice in the
language picker. Most are CLDR locales themselves. A *variety* of a language that CLDR doesn't
know, such as German in simple language (``de_simple``, *Einfache Sprache*), has a catalog of
its own but writes dates, numbers and lists, counts plural forms and runs in the direction of
its language. Everything that hands a catalog locale to babel goes through ``babel_locale``:
the translators (``bot.i18n``), the catalog check (``bot.i18n_tools``), the settings'
validation (``bot.config``) and the text direction (``bot.bidi``). Imports only babel.
"""

from __future__ import annotations

from functools import lru_cache

from babel import Locale

#: Varieties: catalog locale -> the babel locale it formats as. Telegram's ``language_code``
#: never names one (residents choose it in the picker; ``I18n.match`` never suggests it), and
#: Telegram's command menus take only ISO 639-1 codes, so a variety's residents see their
#: Telegram language's menu.
VARIETIES: dict[str, str] = {"de_simple": "de"}


def is_variety(locale: str) -> bool:
    return locale in VARIETIES


def babel_code(locale: str) -> str:
    """The babel locale identifier behind a catalog locale ("de_simple" -> "de")."""
    return VARIETIES.get(locale, locale)


@lru_cache(maxsize=64)
def babel_locale(locale: str) -> Locale:
    """The babel ``Locale`` behind a catalog locale; ``UnknownLocaleError`` or ``ValueError``
    for a code babel doesn't know."""
    return Locale.parse(babel_code(locale))
