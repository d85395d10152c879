"""The privacy notice's versions: a resident asked again after a new one, and /notice.

A resident who agreed to an older version than the newest is asked again at their next
interaction (``gate``, group -1): one screen with the new notice in their language and Agree /
Decline; until they agree the bot answers only that screen, /privacy, /mydata, /stop and
deleting their data. Decline offers the deletion of /privacy; their data stays until they
delete it.

/notice (admins; ``NoticeService`` checks): the current version and its languages, and writing
the next one: first in the admin's own language, then in the others (each may be skipped but
the default language), then Publish.
"""

from __future__ import annotations

import json

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import ApplicationHandlerStop

from bot.buttons import NoticeButton, PrivacyButton
from bot.context import BotContext
from bot.services.notices import MAX_NOTICE_LENGTH, NoticeError
from bot.services.permissions import NotAllowed
from handlers.flow_data import NoticeDraft
from handlers.flows import NOTICE, take_step
from handlers.keyboards import button
from handlers.render import answer_expired, refuse, show
from handlers.shared.home import current_notice, show_menu

#: What a resident who hasn't agreed to the newest notice may still use.
ALLOWED_COMMANDS = frozenset({"privacy", "mydata", "stop"})
ALLOWED_PRIVACY_STEPS = frozenset({"ask", "delete"})


def _command(update: Update) -> str | None:
    message = update.effective_message
    text = (message.text or "") if message is not None else ""
    if not text.startswith("/"):
        return None
    return text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower() if len(text) > 1 else ""


def _allowed(update: Update) -> bool:
    query = update.callback_query
    if query is not None:
        notice = NoticeButton.unpack(query.data)
        if notice is not None:
            return notice.action in ("ok", "no")
        privacy = PrivacyButton.unpack(query.data)
        return privacy is not None and privacy.step in ALLOWED_PRIVACY_STEPS
    return _command(update) in ALLOWED_COMMANDS


async def gate(update: Update, context: BotContext) -> None:
    """Group -1: a resident behind the newest privacy notice sees it, and nothing else but
    /privacy, /mydata, /stop and deleting their data, until they agree."""
    resident = context.resident
    if resident is None or resident.consent_is_current:
        return
    if update.callback_query is None and update.effective_message is None:
        return  # e.g. they blocked the bot: the handlers after still track it
    if _allowed(update):
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
    await show_new_notice(update, context)
    raise ApplicationHandlerStop


async def show_new_notice(update: Update, context: BotContext) -> None:
    t = context.t
    _ = t.gettext
    version, notice = await current_notice(context)
    text = "\n\n".join(
        [
            _(
                "📜 <b>We have updated our privacy notice.</b>\n"
                "Please read it: to go on using the bot, we need your agreement."
            ),
            notice,
            _("Do you agree?"),
        ]
    )
    keyboard = InlineKeyboardMarkup(
        [
            [button(_("✅ I agree"), NoticeButton("ok", version))],
            # Translators: declining the updated privacy notice
            [button(_("❌ I don't agree"), NoticeButton("no", version))],
        ]
    )
    await show(update, text, keyboard)


async def notice_button(update: Update, context: BotContext, button_: NoticeButton) -> None:
    if button_.action in ("ok", "no"):
        await _answer(update, context, button_)
    elif button_.action == "new":
        await _start_writing(update, context)
    else:
        await _admin_step(update, context, button_)


async def _answer(update: Update, context: BotContext, answer: NoticeButton) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None and answer.version
    _ = context.t.gettext
    if context.resident is None:
        await query.answer()
        await show(update, _("👋 To begin, send /start and choose your language."))
        return
    if answer.version < context.resident.current_notice:
        # An older screen: the notice changed again since. Show the newest.
        await query.answer()
        await show_new_notice(update, context)
        return
    if answer.action == "no":
        await query.answer()
        await show(
            update,
            _(
                "You have not agreed to the new privacy notice, so we can't go on helping you "
                "for now. Your data stays stored until you delete it.\n"
                "You can delete all of it now, or agree later: just write to us."
            ),
            InlineKeyboardMarkup(
                [
                    [button(_("🗑 Delete my data"), PrivacyButton("ask"))],
                    [button(_("✅ I agree after all"), NoticeButton("ok", answer.version))],
                ]
            ),
        )
        return
    try:
        context.resident = await context.services.residents.agree_to_notice(
            update.effective_user.id, answer.version
        )
    except ValueError:
        await answer_expired(update, context.t)
        return
    await query.answer(_("✅ Thank you!"))
    await show_menu(update, context)


# --- /notice: admins write a new version --------------------------------------------------


def _order(context: BotContext) -> list[str]:
    """The languages to write in: the admin's own first, then the others as configured."""
    locales = list(context.services.notices.locales)
    own = context.locale if context.locale in locales else context.services.notices.default_locale
    return [own, *(locale for locale in locales if locale != own)]


async def notice_command(update: Update, context: BotContext) -> None:
    t = context.t
    _ = t.gettext
    try:
        version, written = await context.services.notices.overview(context.actor)
    except NotAllowed:
        await show(update, _("🔒 Only admins can change the privacy notice."))
        return
    _version, text = await current_notice(context)
    languages = t.format_list(t.language_in_mine(locale) for locale in sorted(written))
    lines = [
        _("📜 <b>Privacy notice</b>, version {version}").format(version=t.format_number(version)),
        _("Written in: {languages}").format(languages=languages),
        "",
        text,
    ]
    keyboard = InlineKeyboardMarkup(
        [
            [
                button(
                    _("✏️ Write version {version}").format(version=t.format_number(version + 1)),
                    NoticeButton("new"),
                )
            ]
        ]
    )
    await show(update, "\n".join(lines), keyboard)


async def _start_writing(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    try:
        version, _written = await context.services.notices.overview(context.actor)
    except NotAllowed:
        await refuse(update, context.t.gettext("🔒 Only admins can change the privacy notice."))
        return
    await query.answer()
    draft = NoticeDraft(version=version + 1, locale=_order(context)[0])
    await _ask(update, context, draft)


def _texts(draft: NoticeDraft) -> dict[str, str]:
    try:
        texts = json.loads(draft.texts)
    except ValueError:
        return {}
    if not isinstance(texts, dict):
        return {}
    return {str(k): v for k, v in texts.items() if isinstance(v, str)}


async def _ask(update: Update, context: BotContext, draft: NoticeDraft) -> None:
    """Wait for the text in ``draft.locale``."""
    assert update.effective_user is not None
    t = context.t
    _ = t.gettext
    await context.services.chat_state.expect(update.effective_user.id, NOTICE.at("text", draft))
    default = context.services.notices.default_locale
    lines = [
        _("✏️ Version {version} of the privacy notice in {language}:").format(
            version=t.format_number(draft.version), language=t.language_in_mine(draft.locale)
        ),
        # Translators: keep {signup_retention_days} and {inactive_days} as they are
        _(
            "Send the whole text as one message. Write {signup_retention_days} and "
            "{inactive_days} where the number of days from the settings belongs."
        ),
    ]
    rows = []
    if draft.locale != default:
        rows.append([button(_("⏭ Skip this language"), NoticeButton("skip"))])
    if default in _texts(draft):
        rows.append([button(_("📣 Publish"), NoticeButton("pub"))])
    await show(update, "\n".join(lines), InlineKeyboardMarkup(rows) if rows else None)


async def _next(update: Update, context: BotContext, draft: NoticeDraft) -> None:
    """On to the next language, or, all asked, to the review."""
    order = _order(context)
    at = order.index(draft.locale) if draft.locale in order else len(order)
    if at + 1 < len(order):
        await _ask(update, context, NoticeDraft(draft.version, order[at + 1], draft.texts))
        return
    assert update.effective_user is not None
    t = context.t
    _ = t.gettext
    await context.services.chat_state.expect(update.effective_user.id, NOTICE.at("review", draft))
    written = t.format_list(t.language_in_mine(locale) for locale in sorted(_texts(draft)))
    await show(
        update,
        _("Version {version} is written in: {languages}.").format(
            version=t.format_number(draft.version), languages=written or "–"
        ),
        InlineKeyboardMarkup([[button(_("📣 Publish"), NoticeButton("pub"))]]),
    )


async def notice_input(update: Update, context: BotContext, step: str, draft: NoticeDraft) -> None:
    """The text typed for one language."""
    message = update.effective_message
    assert message is not None and update.effective_user is not None
    _ = context.t.gettext
    text = (message.text or "").strip()
    if not text:
        await message.reply_text(_("Please send it as text."))
        return
    if len(text) > MAX_NOTICE_LENGTH:
        await message.reply_text(
            _("That is too long: at most {count} characters, please.").format(
                count=context.t.format_number(MAX_NOTICE_LENGTH)
            )
        )
        return
    claimed = await take_step(context, update.effective_user.id, NOTICE, "text")
    if claimed is None:
        await answer_expired(update, context.t)
        return
    texts = _texts(claimed)
    texts[claimed.locale] = text
    await _next(update, context, NoticeDraft(claimed.version, claimed.locale, json.dumps(texts)))


async def _admin_step(update: Update, context: BotContext, tapped: NoticeButton) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    t = context.t
    _ = t.gettext
    steps = ("text",) if tapped.action == "skip" else ("text", "review")
    draft = await take_step(context, update.effective_user.id, NOTICE, steps)
    if draft is None:
        await answer_expired(update, t)
        return
    if tapped.action == "skip":
        await query.answer()
        await _next(update, context, draft)
        return
    try:
        version = await context.services.notices.publish(
            context.actor, draft.version, _texts(draft)
        )
    except NotAllowed:
        await refuse(update, _("🔒 Only admins can change the privacy notice."))
        return
    except NoticeError:
        await refuse(
            update,
            _(
                "That didn't work: the text in {language} is missing, or another admin "
                "published a version meanwhile. Please start again with /notice."
            ).format(language=t.language_in_mine(context.services.notices.default_locale)),
        )
        return
    await query.answer()
    await show(
        update,
        _(
            "✅ Version {version} of the privacy notice is published. Everyone who agreed to "
            "an older one is asked again when they next write to the bot."
        ).format(version=t.format_number(version)),
    )
