"""Telegram handlers: read the update, call a service, render translated text and keyboards.

``register_handlers`` is the one ordered list of handlers (group -1 loads the resident).
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from handlers import (
    broadcast,
    callbacks,
    events,
    fallback,
    groups,
    ideas,
    input,
    menu,
    newevent,
    onboarding,
    resident,
    settings,
)

PRIVATE = filters.ChatType.PRIVATE


def handler_list() -> list[BaseHandler[Any, Any, Any]]:
    return [
        CommandHandler("start", onboarding.start, filters=PRIVATE),
        CommandHandler("menu", menu.menu_command, filters=PRIVATE),
        CommandHandler("help", menu.help_command, filters=PRIVATE),
        CommandHandler("language", settings.language_command, filters=PRIVATE),
        CommandHandler("settings", settings.show_settings, filters=PRIVATE),
        CommandHandler("privacy", settings.show_privacy, filters=PRIVATE),
        CommandHandler("stop", settings.stop_command, filters=PRIVATE),
        CommandHandler("broadcast", broadcast.broadcast_command, filters=PRIVATE),
        CommandHandler("events", menu.events_command, filters=PRIVATE),
        CommandHandler("newevent", newevent.newevent_command, filters=PRIVATE),
        CommandHandler("proposals", newevent.proposals_command, filters=PRIVATE),
        CommandHandler("ideas", ideas.ideas_command, filters=PRIVATE),
        CommandHandler("groups", menu.groups_command, filters=PRIVATE),
        CommandHandler("newgroup", groups.newgroup_command, filters=PRIVATE),
        CommandHandler("cancel", ideas.cancel_command, filters=PRIVATE),
        CallbackQueryHandler(onboarding.choose_language, pattern=callbacks.LANGUAGE),
        CallbackQueryHandler(onboarding.answer_consent, pattern=callbacks.CONSENT),
        CallbackQueryHandler(onboarding.toggle_topic, pattern=callbacks.TOPIC),
        CallbackQueryHandler(onboarding.topics_done, pattern=callbacks.TOPICS_DONE),
        CallbackQueryHandler(menu.menu_entry, pattern=callbacks.MENU),
        CallbackQueryHandler(settings.settings_entry, pattern=callbacks.SETTINGS),
        CallbackQueryHandler(settings.privacy_step, pattern=callbacks.PRIVACY),
        CallbackQueryHandler(settings.quiet_hours_choice, pattern=callbacks.QUIET),
        CallbackQueryHandler(settings.digest_choice, pattern=callbacks.DIGEST),
        CallbackQueryHandler(broadcast.broadcast_button, pattern=callbacks.BROADCAST),
        CallbackQueryHandler(events.event_list_button, pattern=callbacks.EVENT_LIST),
        CallbackQueryHandler(events.event_button, pattern=callbacks.EVENT),
        CallbackQueryHandler(newevent.admin_button, pattern=callbacks.EVENT_ADMIN),
        CallbackQueryHandler(newevent.composer_button, pattern=callbacks.EVENT_COMPOSER),
        CallbackQueryHandler(groups.group_button, pattern=callbacks.GROUP),
        CallbackQueryHandler(groups.list_button, pattern=callbacks.GROUP_LIST),
        CallbackQueryHandler(groups.new_button, pattern=callbacks.GROUP_NEW),
        CallbackQueryHandler(ideas.idea_button, pattern=callbacks.IDEA),
        CallbackQueryHandler(ideas.board_button, pattern=callbacks.IDEA_BOARD),
        CallbackQueryHandler(ideas.support_button, pattern=callbacks.IDEA_SUPPORT),
        CallbackQueryHandler(ideas.moderation_button, pattern=callbacks.IDEA_MODERATION),
        ChatMemberHandler(resident.track_block, ChatMemberHandler.MY_CHAT_MEMBER),
        # Last: whatever nothing above took.
        CallbackQueryHandler(fallback.unknown_callback),
        MessageHandler(PRIVATE & ~filters.StatusUpdate.ALL, input.route_message),
    ]


def register_handlers(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(TypeHandler(Update, resident.load_resident), group=-1)
    application.add_handlers(handler_list())
    application.add_error_handler(fallback.on_error)
