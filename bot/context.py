"""The typed ``CallbackContext`` every handler receives, and the application state behind it."""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from typing import Any

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from bot.config import Settings
from bot.i18n import I18n, Translator
from bot.services import Services
from bot.services.chat_state import PendingInput
from bot.services.permissions import ANONYMOUS, Actor
from bot.services.residents import Arrival, ResidentProfile
from bot.telegram_bidi import set_reader_direction


class AppState:
    """Shared dependencies, filled in once by ``bot.app.build_application``.

    PTB creates this object itself (as ``bot_data``), hence no constructor arguments.
    """

    settings: Settings
    i18n: I18n
    services: Services

    def __init__(self) -> None:
        #: The language each recent reader was last answered in, newest last (at most
        #: ``handlers.fallback.KNOWN_READERS``): what "please try again" is written in while
        #: the database, which knows it, is away. Per application, so per process.
        self.reader_locales: OrderedDict[int, str] = OrderedDict()


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], AppState]):
    """Adds the dependencies and the current resident, loaded once per update in group -3."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self.resident: ResidentProfile | None = None
        #: Who is acting, with their roles, loaded with the resident; services decide with it.
        self.actor: Actor = ANONYMOUS
        #: The chat's flow had expired when this update came (see handlers/flows.py).
        self.flow_expired = False
        #: The chat's open flow, as group -2 found it (None once a command or a tap ended it).
        self.pending: PendingInput | None = None
        #: What group -4 read in its one statement (handlers/resident.load_resident), for the
        #: gates after it; None before, or when nobody was loaded.
        self.arrival: Arrival | None = None
        self._locale: str | None = None
        self.locale = None

    @property
    def locale(self) -> str | None:
        """The current resident's language (None: not known yet, the default's words)."""
        return self._locale

    @locale.setter
    def locale(self, value: str | None) -> None:
        # Group -3 sets it, and a handler that switches language; from then on, whatever this
        # update sends begins in that language's direction (bot/telegram_bidi.py).
        self._locale = value
        state = self.bot_data
        set_reader_direction(hasattr(state, "i18n") and state.i18n.translator(value).rtl)

    @property
    def services(self) -> Services:
        return self.bot_data.services

    @property
    def settings(self) -> Settings:
        return self.bot_data.settings

    @property
    def i18n(self) -> I18n:
        return self.bot_data.i18n

    def clock(self) -> datetime:
        """Now, from the clock the services were built with (never the wall clock itself)."""
        return self.services.clock()

    @property
    def t(self) -> Translator:
        """The translator in the current resident's language (the default before loading)."""
        return self.i18n.translator(self.locale)


CONTEXT_TYPES = ContextTypes(context=BotContext, bot_data=AppState)
