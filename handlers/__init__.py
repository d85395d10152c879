"""Telegram handlers: read the update, call a service, render translated text and keyboards.

``register_handlers`` is the one ordered list of handlers; before them, group -4 applies the
rate limit, loads the resident with their ban in one read and stops a banned person
(handlers/abuse.py), group -2 applies the rules every multi-step flow obeys (handlers/flows.py)
and group -1 asks a resident behind the newest privacy notice to agree to it first
(handlers/notice.py).
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

from bot import buttons
from handlers import (
    abuse,
    broadcast,
    dashboard,
    events,
    fallback,
    flows,
    groups,
    ideas,
    input,
    menu,
    newevent,
    notice,
    onboarding,
    resident,
    roles,
    settings,
    translations,
)
from handlers.callbacks import ButtonHandler

PRIVATE = filters.ChatType.PRIVATE


def handler_list() -> list[BaseHandler[Any, Any, Any]]:
    return [
        CommandHandler("start", onboarding.start, filters=PRIVATE),
        CommandHandler("menu", menu.menu_command, filters=PRIVATE),
        CommandHandler("help", menu.help_command, filters=PRIVATE),
        CommandHandler("language", settings.language_command, filters=PRIVATE),
        CommandHandler("settings", settings.show_settings, filters=PRIVATE),
        CommandHandler("privacy", settings.show_privacy, filters=PRIVATE),
        CommandHandler("mydata", settings.mydata_command, filters=PRIVATE),
        CommandHandler("stop", settings.stop_command, filters=PRIVATE),
        CommandHandler("broadcast", broadcast.broadcast_command, filters=PRIVATE),
        CommandHandler("events", menu.events_command, filters=PRIVATE),
        CommandHandler("newevent", newevent.newevent_command, filters=PRIVATE),
        CommandHandler("proposals", newevent.proposals_command, filters=PRIVATE),
        CommandHandler("ideas", ideas.ideas_command, filters=PRIVATE),
        CommandHandler("groups", menu.groups_command, filters=PRIVATE),
        CommandHandler("newgroup", groups.newgroup_command, filters=PRIVATE),
        CommandHandler("translate", translations.translate_command, filters=PRIVATE),
        CommandHandler("cancel", ideas.cancel_command, filters=PRIVATE),
        CommandHandler("roles", roles.roles_command, filters=PRIVATE),
        CommandHandler("audit", roles.audit_command, filters=PRIVATE),
        CommandHandler("dashboard", dashboard.dashboard_command, filters=PRIVATE),
        CommandHandler("ban", abuse.ban_command, filters=PRIVATE),
        CommandHandler("unban", abuse.unban_command, filters=PRIVATE),
        CommandHandler("notice", notice.notice_command, filters=PRIVATE),
        ButtonHandler(buttons.LanguageButton, onboarding.choose_language),
        ButtonHandler(buttons.ConsentButton, onboarding.answer_consent),
        ButtonHandler(buttons.TopicButton, onboarding.toggle_topic),
        ButtonHandler(buttons.TopicsDoneButton, onboarding.topics_done),
        ButtonHandler(buttons.MenuButton, menu.menu_entry),
        ButtonHandler(buttons.SettingsButton, settings.settings_entry),
        ButtonHandler(buttons.PrivacyButton, settings.privacy_step),
        ButtonHandler(buttons.QuietButton, settings.quiet_hours_choice),
        ButtonHandler(buttons.DigestButton, settings.digest_choice),
        ButtonHandler(buttons.BroadcastButton, broadcast.broadcast_button),
        ButtonHandler(buttons.EventListButton, events.event_list_button),
        ButtonHandler(buttons.EventButton, events.event_button),
        ButtonHandler(buttons.EventAdminButton, newevent.admin_button),
        ButtonHandler(buttons.EventComposerButton, newevent.composer_button),
        ButtonHandler(buttons.EventEditButton, newevent.edit_button),
        ButtonHandler(buttons.GroupButton, groups.group_button),
        ButtonHandler(buttons.GroupListButton, groups.list_button),
        ButtonHandler(buttons.GroupNewButton, groups.new_button),
        ButtonHandler(buttons.GroupEditButton, groups.edit_button),
        ButtonHandler(buttons.IdeaButton, ideas.idea_button),
        ButtonHandler(buttons.IdeaBoardButton, ideas.board_button),
        ButtonHandler(buttons.IdeaSupportButton, ideas.support_button),
        ButtonHandler(buttons.IdeaReportButton, ideas.report_button),
        ButtonHandler(buttons.IdeaVoiceButton, ideas.listen_button),
        ButtonHandler(buttons.IdeaModerationButton, ideas.moderation_button),
        ButtonHandler(buttons.TranslationButton, translations.translation_button),
        ButtonHandler(buttons.RoleButton, roles.role_button),
        ButtonHandler(buttons.AuditButton, roles.audit_button),
        ButtonHandler(buttons.NoticeButton, notice.notice_button),
        ButtonHandler(buttons.TaskButton, translations.task_button),
        ButtonHandler(buttons.TranslatorButton, translations.translator_button),
        ChatMemberHandler(resident.track_block, ChatMemberHandler.MY_CHAT_MEMBER),
        # Last: whatever nothing above took.
        CallbackQueryHandler(fallback.unknown_callback),
        MessageHandler(PRIVATE & ~filters.StatusUpdate.ALL, input.route_message),
    ]


def register_handlers(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    # Before any handler: the rate limit, then who is acting and their ban, in one read
    # (group -4, handlers/abuse.py), the rules every flow obeys (-2), then the newest
    # privacy notice (-1).
    application.add_handler(TypeHandler(Update, abuse.gate), group=-4)
    application.add_handler(TypeHandler(Update, flows.end_stale_flows), group=-2)
    application.add_handler(TypeHandler(Update, notice.gate), group=-1)
    application.add_handlers(handler_list())
    application.add_error_handler(fallback.on_error)
