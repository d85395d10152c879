"""Translations, locale resolution and locale-aware formatting.

Catalogs are the ``.po`` files under ``locales/``; they are compiled in memory when the bot
starts, so a compiled catalog can never be stale. Each resident gets a ``Translator`` bound to
their locale; handlers call ``t.gettext`` (spelled ``_``) and ``t.ngettext`` and format after
translating. Right-to-left locales wrap inserted data in Unicode direction isolates.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, tzinfo
from decimal import Decimal
from functools import cached_property
from pathlib import Path

from babel import UnknownLocaleError, dates, lists, negotiate_locale, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

# FSI (first strong isolate) and PDI (pop directional isolate): the data inside keeps its own
# direction. Re-exported: the tests and older callers import them from here.
from bot.bidi import FSI as FSI
from bot.bidi import PDI as PDI
from bot.bidi import is_rtl_locale
from bot.config import PROJECT_ROOT
from bot.locales import babel_locale, is_variety

LOCALES_DIR = PROJECT_ROOT / "locales"
DOMAIN = "messages"

#: Each language named in itself, as a resident looks for it in the picker.
LANGUAGE_NAMES: dict[str, str] = {
    "de": "Deutsch",
    "de_simple": "Deutsch (einfach)",
    "tr": "Türkçe",
    "ar": "العربية",
    "uk": "Українська",
    "el": "Ελληνικά",
    "ro": "Română",
    "pl": "Polski",
    "it": "Italiano",
    "fa": "فارسی",
    "ku": "Kurdî (Kurmancî)",
    "ru": "Русский",
    "en": "English",
}

_COMMAND = re.compile(r"(?<![\w/<\u2068])(/[A-Za-z][A-Za-z0-9_]*)")
#: Arrows that point the reading way, each with its mirror image.
_MIRRORED_ARROWS = str.maketrans("→←➡⬅↩↪", "←→⬅➡↪↩")


def N_(message: str) -> str:
    """Mark a module-level string for extraction; translate it later with ``t.gettext``."""
    return message


def language_name(locale: str) -> str:
    if locale in LANGUAGE_NAMES:
        return LANGUAGE_NAMES[locale]
    try:
        babel = babel_locale(locale)
    except (UnknownLocaleError, ValueError):
        return locale
    return babel.get_display_name(babel) or locale


def compile_po(po_path: Path, locale: str) -> Translations:
    """Compile one ``.po`` file in memory (fuzzy entries are left out, as msgfmt does)."""
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=locale, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


class Translator:
    """Everything a handler needs to speak one locale: messages, plurals, dates, numbers."""

    def __init__(self, locale: str, translations: NullTranslations, tz: tzinfo) -> None:
        self.locale = locale
        self._translations = translations
        self.tz = tz
        # A variety (de_simple) formats dates, numbers and lists as its language (bot/locales.py)
        self.babel_locale = babel_locale(locale)
        self.rtl = is_rtl_locale(locale)
        #: The text's BCP 47 tag, as HTML's ``lang`` wants it (de_simple's is "de").
        self.language_tag = str(self.babel_locale).replace("_", "-")

    def gettext(self, message: str) -> str:
        return self._directional(str(self._translations.gettext(message)))

    _ = gettext

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        return self._directional(str(self._translations.ngettext(singular, plural, count)))

    def pgettext(self, context: str, message: str) -> str:
        return self._directional(str(self._translations.pgettext(context, message)))

    def _directional(self, text: str) -> str:
        # "/menu" in an Arabic line would show as "menu/": keep each command one LTR unit.
        # Arrows point the reading way ("↩️ Back" points right in Arabic).
        if not self.rtl:
            return text
        return _COMMAND.sub(rf"{FSI}\1{PDI}", self.mirror(text))

    def mirror(self, text: str) -> str:
        """Direction arrows turned to point the reading way (right to left: ``➡️`` → ``⬅️``,
        ``↩️`` → ``↪️``). Play and skip symbols (▶️, ⏭) are media controls: left alone."""
        return text.translate(_MIRRORED_ARROWS) if self.rtl else text

    def isolate(self, value: object) -> str:
        """Keep left-to-right data (dates, numbers, names, addresses) intact in RTL text."""
        text = str(value)
        return f"{FSI}{text}{PDI}" if self.rtl and text else text

    def format_datetime(self, value: datetime, format: str = "medium") -> str:
        return self.isolate(
            dates.format_datetime(value, format, tzinfo=self.tz, locale=self.babel_locale)
        )

    def format_date(self, value: date | datetime, format: str = "long") -> str:
        if isinstance(value, datetime):
            value = value.astimezone(self.tz).date()
        return self.isolate(dates.format_date(value, format, locale=self.babel_locale))

    def format_time(self, value: time | datetime, format: str = "short") -> str:
        if isinstance(value, datetime):
            value = value.astimezone(self.tz)
        return self.isolate(dates.format_time(value, format, tzinfo=None, locale=self.babel_locale))

    def format_number(self, value: int | float | Decimal) -> str:
        return self.isolate(numbers.format_decimal(value, locale=self.babel_locale))

    def format_list(self, items: Iterable[str]) -> str:
        """Items joined the locale's way: "A, B und C", Arabic "A وB وC", Persian "A، B، و C"
        (CLDR's standard list patterns, via babel)."""
        return lists.format_list(list(items), locale=self.babel_locale)

    def language(self, locale: str) -> str:
        """A language named in itself, isolated in right-to-left text like other data."""
        return self.isolate(language_name(locale))

    def language_in_mine(self, locale: str) -> str:
        """Another language named in this reader's language ("ar" to a German reader: "Arabisch",
        to a Turkish one: "Arapça"), isolated like :meth:`language`. The reader's own language and
        a variety (de_simple, which CLDR doesn't know) are named in themselves."""
        if locale == self.locale or is_variety(locale):
            return self.language(locale)
        try:
            name = babel_locale(locale).get_display_name(self.babel_locale)
        except (UnknownLocaleError, ValueError):
            name = None
        return self.isolate(name or language_name(locale))

    @cached_property
    def language_name(self) -> str:
        return language_name(self.locale)


class I18n:
    """The compiled catalogs of all configured locales, with the default as fallback."""

    def __init__(
        self,
        locales: Sequence[str],
        default_locale: str,
        tz: tzinfo,
        locales_dir: Path = LOCALES_DIR,
    ) -> None:
        self.locales = tuple(locales)
        self.default_locale = default_locale
        self.tz = tz
        self.locales_dir = locales_dir
        default = self._load(default_locale)
        self._translators: dict[str, Translator] = {}
        for locale in self.locales:
            translations = default if locale == default_locale else self._load(locale)
            if translations is not default:
                translations.add_fallback(default)
            self._translators[locale] = Translator(locale, translations, tz)

    def _load(self, locale: str) -> NullTranslations:
        po_path = self.locales_dir / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
        if not po_path.exists():
            return NullTranslations()
        return compile_po(po_path, locale)

    def translator(self, locale: str | None) -> Translator:
        return self._translators.get(locale or "", self._translators[self.default_locale])

    def resolve(self, saved: str | None, telegram_code: str | None) -> str:
        """The resident's saved choice, then Telegram's ``language_code``, then the default."""
        if saved in self._translators:
            return saved
        return self.match(telegram_code) or self.default_locale

    def match(self, telegram_code: str | None) -> str | None:
        """Map Telegram's IETF tag (``pt-br``, ``uk``, ``de-AT``) onto a configured locale.

        Never onto a variety (``de_simple``): residents choose those themselves."""
        if not telegram_code:
            return None
        tag = telegram_code.replace("-", "_")
        languages = [locale for locale in self.locales if not is_variety(locale)]
        found = negotiate_locale([tag, tag.split("_")[0]], languages)
        return found if found in self._translators else None

    def all(self) -> Iterable[Translator]:
        return self._translators.values()
