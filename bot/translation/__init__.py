"""Machine drafts of translations: pluggable, off by default, never sent unreviewed.

``build_machine_translator(settings, clock)`` returns the configured ``MachineTranslator``
(``LibreTranslateClient`` or ``DeepLClient``) or None when ``TRANSLATION_PROVIDER`` is off.
A draft is a suggestion for a person to review; a failed one is simply missing. No Telegram
here: the services and handlers decide what to do with a draft.
"""

from bot.translation.base import (
    LANGUAGES_RETRY,
    LANGUAGES_TTL,
    HttpTranslator,
    LanguageTable,
    MachineTranslator,
    ProviderError,
)
from bot.translation.deepl import DeepLClient, deepl_codes
from bot.translation.factory import build_machine_translator
from bot.translation.libretranslate import LibreTranslateClient, libretranslate_locale

__all__ = [
    "LANGUAGES_RETRY",
    "LANGUAGES_TTL",
    "DeepLClient",
    "HttpTranslator",
    "LanguageTable",
    "LibreTranslateClient",
    "MachineTranslator",
    "ProviderError",
    "build_machine_translator",
    "deepl_codes",
    "libretranslate_locale",
]
