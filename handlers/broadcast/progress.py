"""A running broadcast's progress message, refreshed by a job, and the final summary."""

from __future__ import annotations

import logging
from datetime import datetime

from telegram import Bot, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, TelegramError

from bot.context import AppState, BotContext
from bot.i18n import Translator
from bot.services.broadcasts import BroadcastView, Progress
from bot.services.delivery import DeliveryState, Held
from bot.telegram_bidi import reading
from handlers.render import show
from handlers.shared.composer import action_button

log = logging.getLogger(__name__)


def held_line(t: Translator, count: int, earliest: datetime) -> str:
    return t.ngettext(
        "🌙 {count} message waits for quiet hours and goes out at {time}.",
        "🌙 {count} messages wait for quiet hours; the first goes out at {time}.",
        count,
    ).format(count=t.format_number(count), time=t.format_datetime(earliest, "short"))


def progress_text(
    t: Translator, view: BroadcastView, progress: Progress, held: Held | None = None
) -> str:
    """The counts, and what waits for the recipients' quiet hours, until when (so "waiting"
    never stands there without a reason)."""
    _ = t.gettext
    finished = progress.finished and view.finished_at is not None
    title = (
        _("📣 <b>Broadcast {number}: finished</b>")
        if finished
        else _("📣 <b>Broadcast {number}: sending</b>")
    ).format(number=t.format_number(view.id))
    lines = [
        title,
        _(
            "✅ Sent: {sent} · ⏳ Waiting: {waiting} · ❌ Failed: {failed} · ⏭ Skipped: {skipped}"
        ).format(
            sent=t.format_number(progress.total(DeliveryState.SENT)),
            waiting=t.format_number(progress.total(DeliveryState.PENDING, DeliveryState.SENDING)),
            failed=t.format_number(progress.total(DeliveryState.FAILED)),
            skipped=t.format_number(progress.total(DeliveryState.SKIPPED, DeliveryState.CANCELLED)),
        ),
    ]
    if held is not None and held.count and held.earliest is not None:
        lines.append(held_line(t, held.count, held.earliest))
    for locale, counts in sorted(progress.by_locale.items()):
        sent = t.format_number(counts.get(DeliveryState.SENT, 0))
        lines.append(f"{t.language(locale)}: {sent}/{t.format_number(sum(counts.values()))}")
    if not progress.by_locale:
        lines.append(_("Nobody matched the audience, so nothing was sent."))
    return "\n".join(lines)


def progress_keyboard(
    t: Translator, view: BroadcastView, progress: Progress
) -> InlineKeyboardMarkup | None:
    _ = t.gettext
    rows = []
    if view.finished_at is None:
        rows.append(
            [
                action_button(_("🔄 Refresh"), "prog", view.id),
                # Translators: stops a broadcast that is being sent or is scheduled
                action_button(_("⛔ Cancel"), "cancel", view.id),
            ]
        )
    if progress.total(DeliveryState.FAILED) and view.status in ("sending", "done"):
        # Translators: sends again the messages of a broadcast that could not be delivered
        rows.append([action_button(_("🔁 Retry failed"), "retry", view.id)])
    return InlineKeyboardMarkup(rows) if rows else None


async def show_progress(update: Update, context: BotContext, broadcast_id: int) -> None:
    """Show the progress in the coordinator's chat, and remember that message for the job."""
    service = context.services.broadcasts
    view = await service.get(context.actor, broadcast_id)
    assert view is not None
    progress = await service.progress(broadcast_id)
    held = await context.services.delivery.held(view.source)
    message = update.callback_query.message if update.callback_query else None
    if message is not None and update.effective_chat is not None:
        # Named before it is shown: the engine's final summary goes to this message from now.
        await service.set_progress_message(
            broadcast_id, update.effective_chat.id, message.message_id
        )
    await show(
        update,
        progress_text(context.t, view, progress, held),
        progress_keyboard(context.t, view, progress),
    )
    if view.finished_at is None and message is not None:
        now = await service.load(broadcast_id)
        if now is not None and now.finished_at is not None:
            # It ended while this was shown: the summary may have been written before this
            # edit, which showed it still sending. Show the summary.
            await refresh_progress(context.bot, context.bot_data, broadcast_id)


async def refresh_progress(bot: Bot, state: AppState, broadcast_id: int) -> None:
    """Edit the coordinator's progress message (also used for the final summary)."""
    service = state.services.broadcasts
    view = await service.load(broadcast_id)
    if view is None or view.progress_chat_id is None or view.progress_message_id is None:
        return
    owner = await state.services.residents.get(view.created_by)
    t = state.i18n.translator(owner.locale if owner else None)
    progress = await service.progress(broadcast_id)
    held = await state.services.delivery.held(view.source)
    try:
        with reading(t.rtl):  # a job's or the engine's call: no update says whose it is
            await bot.edit_message_text(
                progress_text(t, view, progress, held),
                chat_id=view.progress_chat_id,
                message_id=view.progress_message_id,
                reply_markup=progress_keyboard(t, view, progress),
            )
    except BadRequest as exc:
        if "not modified" not in exc.message:
            log.warning("could not update progress of broadcast %s: %s", broadcast_id, exc)
    except TelegramError as exc:
        log.warning("could not update progress of broadcast %s: %s", broadcast_id, exc)


async def finish_broadcast(bot: Bot, state: AppState, source: str) -> None:
    """The outbox has sent everything of ``source``: mark it done and show the summary."""
    view = await state.services.broadcasts.finish(source)
    if view is not None:
        await refresh_progress(bot, state, view.id)
