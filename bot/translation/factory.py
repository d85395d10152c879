"""``build_machine_translator``: the configured provider, or None when drafts are off."""

from __future__ import annotations

from bot.clock import Clock
from bot.config import Settings
from bot.translation.base import MachineTranslator
from bot.translation.deepl import DeepLClient
from bot.translation.libretranslate import LibreTranslateClient


def build_machine_translator(settings: Settings, clock: Clock) -> MachineTranslator | None:
    """The client for ``TRANSLATION_PROVIDER``; None when it is off.

    With the provider off nothing is constructed, so nothing can send a resident's text
    anywhere. A client connects only when first asked (its session opens lazily).
    """
    provider = settings.translation_provider
    url = settings.translation_endpoint
    if provider == "off" or url is None:
        return None
    kinds: dict[str, type[LibreTranslateClient | DeepLClient]] = {
        "libretranslate": LibreTranslateClient,
        "deepl": DeepLClient,
    }
    kind = kinds.get(provider)
    if kind is not None:
        return kind(
            url,
            settings.translation_key,
            clock=clock,
            locales=settings.locales,
            timeout=settings.translation_timeout,
        )
    raise ValueError(f"unknown translation provider {provider!r}")  # config refuses these
