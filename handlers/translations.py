"""Content in every language: the 🌐 Translations screen of an event or a group, writing a
version by hand, asking the volunteer translators; the translators' side (/translate, their
tasks, their history, offering to translate) and the coordinators' approval.

The rules are the services' (``TranslationService``, ``EventService.set_version``,
``GroupService.set_version``); here are the words and the buttons.
"""

from __future__ import annotations

import contextlib
import html
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.buttons import (
    BroadcastButton,
    Button,
    EventAdminButton,
    GroupButton,
    TaskButton,
    TranslationButton,
    TranslationSubject,
    TranslatorButton,
)
from bot.context import BotContext
from bot.i18n import Translator, language_name
from bot.rendering import translation_field
from bot.services.broadcasts import BroadcastError
from bot.services.events import EventError
from bot.services.groups import GroupError
from bot.services.permissions import NotAllowed
from bot.services.translations import FIELDS, REQUIRED, TaskView, TranslationError
from handlers.flow_data import TranslationDraft, VersionStep
from handlers.flows import TASK_EDIT, TRANSLATE, VERSION, Flow, take_step
from handlers.keyboards import button as _b
from handlers.render import answer_expired, refuse, show

STATE_MARKS = {"done": "✅", "review": "⚠️", "waiting": "⏳", "missing": "➕"}


def _quote(t: Translator, text: str | None, length: int = 600) -> str:
    """Someone's text quoted, isolated in right-to-left messages (it may be German)."""
    if not text:
        return "—"
    short = text if len(text) <= length else text[: length - 1] + "…"
    return f"<i>{t.isolate(html.escape(short, quote=False))}</i>"


async def _subject_texts(
    context: BotContext, subject: str, subject_id: int
) -> tuple[str, dict[str, dict[str, str | None]]] | None:
    """(default locale, {locale: {field: text}}) of an event or group the actor may see."""
    if subject == "event":
        event = await context.services.events.get(context.actor, subject_id)
        if event is None:
            return None
        return event.default_locale, {
            loc: {"title": v.title, "description": v.description}
            for loc, v in event.versions.items()
        }
    if subject == "broadcast":
        broadcast = await context.services.broadcasts.get(context.actor, subject_id)
        if broadcast is None:
            return None
        return broadcast.default_locale, {
            loc: {"text": v.text} for loc, v in broadcast.versions.items()
        }
    group = await context.services.groups.get(subject_id)
    if group is None:
        return None
    texts: dict[str, dict[str, str | None]] = {
        loc: {"name": v.name, "description": v.description, "rhythm": v.rhythm}
        for loc, v in group.versions.items()
    }
    for slot in group.slots:  # help tasks' labels, as fields "slot:<id>"
        for loc, label in slot.labels.items():
            texts.setdefault(loc, {})[f"slot:{slot.id}"] = label
    return group.default_locale, texts


def _order(subject: str, default_texts: dict[str, str | None]) -> list[str]:
    """The fields of a version in the order they are asked: the subject's, then its help
    tasks' labels."""
    slots = sorted((k for k in default_texts if k.startswith("slot:")), key=lambda k: int(k[5:]))
    return [*FIELDS[subject], *slots]


def _key(field: str, step: VersionStep) -> str:
    return f"slot:{step.slot}" if field == "slot" else field


def _back(t: Translator, subject: str, subject_id: int) -> InlineKeyboardButton:
    if subject == "event":
        return _b(t.gettext("↩️ Back"), EventAdminButton("menu", subject_id))
    if subject == "broadcast":
        return _b(t.gettext("↩️ Back"), BroadcastButton("home", subject_id))
    return _b(t.gettext("↩️ Back"), GroupButton("show", subject_id))


async def show_translations(
    update: Update, context: BotContext, subject: TranslationSubject, subject_id: int
) -> None:
    t = context.t
    _ = t.gettext
    found = await _subject_texts(context, subject, subject_id)
    if found is None:
        await answer_expired(update, t)
        return
    default_locale, versions = found
    states = await context.services.translations.languages(context.actor, subject, subject_id)
    source = versions.get(default_locale, {})
    title = source.get(REQUIRED[subject]) or "…"
    lines = [
        _("🌐 <b>Translations</b> of {title}").format(title=f"<b>{_quote(t, title, 100)}</b>"),
        _("Written in {language}. Tap a language to write or correct its version.").format(
            language=t.language_in_mine(default_locale)
        ),
        "",
    ]
    labels = {
        "done": _("ready"),
        "review": _("to review: the original text changed"),
        "waiting": _("waiting for a translator or your approval"),
        "missing": _("missing"),
    }
    buttons = []
    for state in states:
        name = language_name(state.locale)
        lines.append(f"{STATE_MARKS[state.state]} {t.isolate(name)}: {labels[state.state]}")
        # A broadcast's versions are written in its composer (text or a voice note).
        target: Button = (
            BroadcastButton("text", subject_id, locale=state.locale)
            if subject == "broadcast"
            else TranslationButton("lang", subject, subject_id, state.locale)
        )
        buttons.append(_b(f"{STATE_MARKS[state.state]} {name}", target))
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    if any(s.state in ("missing", "review") for s in states):
        rows.append(
            [
                _b(
                    _("📨 Ask the volunteer translators"),
                    TranslationButton("ask", subject, subject_id),
                )
            ]
        )
    if subject == "broadcast" and any(s.state == "waiting" for s in states):
        rows.append(
            [_b(_("⏳ Send once translated"), TranslationButton("wait", subject, subject_id))]
        )
        if context.services.translations.drafts_by_machine:
            machine = TranslationButton("machine", subject, subject_id)
            rows.append([_b(_("🤖 Use the machine drafts unreviewed"), machine)])
    rows.append([_back(t, subject, subject_id)])
    await show(update, "\n".join(lines), InlineKeyboardMarkup(rows))


async def _ask_field(update: Update, context: BotContext, step: VersionStep, key: str) -> None:
    """Prompt for one field of a version (``key``: a field, or "slot:<id>" for a help task's
    label), with the original and the current text."""
    t = context.t
    _ = t.gettext
    found = await _subject_texts(context, step.subject, step.id)
    if found is None:
        await answer_expired(update, t)
        return
    default_locale, versions = found
    assert update.effective_user is not None
    field = "slot" if key.startswith("slot:") else key
    if field == "slot":
        step = replace(step, slot=int(key[5:]))
    await context.services.chat_state.expect(update.effective_user.id, VERSION.at(field, step))
    lines = [
        _("✏️ {field} in {language}:").format(
            field=f"<b>{translation_field(t, field)}</b>",
            language=t.language_in_mine(step.locale),
        ),
        _("Original: {text}").format(text=_quote(t, versions.get(default_locale, {}).get(key))),
    ]
    current = versions.get(step.locale, {}).get(key)
    if current:
        lines.append(_("Now: {text}").format(text=_quote(t, current)))
    rows = []
    if field != REQUIRED[step.subject] or current:
        rows.append([_b(_("⏭ Skip"), TranslationButton("skip", step.subject, step.id))])  # type: ignore[arg-type]
    await show(update, "\n".join(lines), InlineKeyboardMarkup(rows) if rows else None)


async def _next_key(context: BotContext, step: VersionStep, key: str) -> str | None:
    found = await _subject_texts(context, step.subject, step.id)
    if found is None:
        return None
    order = _order(step.subject, found[1].get(found[0], {}))
    at = order.index(key) if key in order else len(order)
    return order[at + 1] if at + 1 < len(order) else None


async def translation_button(
    update: Update, context: BotContext, button: TranslationButton
) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    t = context.t
    _ = t.gettext
    user_id = update.effective_user.id
    subject, subject_id = button.subject, button.subject_id
    try:
        if button.action == "open":
            await query.answer()
            await show_translations(update, context, subject, subject_id)
        elif button.action == "lang":
            assert button.locale is not None
            found = await _subject_texts(context, subject, subject_id)
            if (
                found is None
                or subject == "broadcast"  # written in its composer, not here
                or button.locale == found[0]
                or button.locale not in context.settings.locales
            ):
                await answer_expired(update, t)
                return
            # Checked now, before anything is typed: the service checks again on every write.
            await context.services.translations.languages(context.actor, subject, subject_id)
            await query.answer()
            step = VersionStep(subject, subject_id, button.locale)
            await _ask_field(update, context, step, FIELDS[subject][0])
        elif button.action == "skip":
            pending = context.pending
            data = VERSION.read(pending) if pending is not None else None
            if data is None or data.subject != subject or data.id != subject_id:
                await answer_expired(update, t)
                return
            claimed = await take_step(context, user_id, VERSION, pending.step)  # type: ignore[union-attr]
            if claimed is None:
                await answer_expired(update, t)
                return
            await query.answer()
            assert pending is not None
            following = await _next_key(context, claimed, _key(pending.step, claimed))
            if following is None:
                await show_translations(update, context, subject, subject_id)
            else:
                await _ask_field(update, context, claimed, following)
        elif button.action == "wait":
            latest = await context.services.translations.waiting_until(
                context.actor, subject, subject_id
            )
            if latest is None:  # they came in meanwhile: at once
                latest = context.clock() + timedelta(minutes=1)
            await context.services.broadcasts.send_when_translated(
                context.actor, subject_id, latest
            )
            await query.answer()
            await show(
                update,
                _(
                    "⏳ The broadcast goes out as soon as the translations are approved, "
                    "by {deadline} at the latest."
                ).format(deadline=t.format_datetime(latest, "short")),
            )
        elif button.action == "machine":
            approved = await context.services.translations.approve_machine_drafts(
                context.actor, subject, subject_id
            )
            await query.answer(
                t.ngettext(
                    "🤖 {count} machine translation goes out unreviewed.",
                    "🤖 {count} machine translations go out unreviewed.",
                    approved,
                ).format(count=t.format_number(approved)),
                show_alert=True,
            )
            await show_translations(update, context, subject, subject_id)
        elif button.action == "ask":
            made = await context.services.translations.request(context.actor, subject, subject_id)
            await query.answer(
                t.ngettext(
                    "📨 Asked for {count} language.",
                    "📨 Asked for {count} languages.",
                    len(made),
                ).format(count=t.format_number(len(made))),
                show_alert=True,
            )
            await show_translations(update, context, subject, subject_id)
    except (TranslationError, BroadcastError):
        await answer_expired(update, t)


async def _typed_text(update: Update, context: BotContext) -> str | None:
    """The text a flow's step waits for, or None (answered: "send it as text")."""
    message = update.effective_message
    assert message is not None
    text = (message.text or "").strip()
    if not text:
        await message.reply_text(context.t.gettext("Please send it as text."))
        return None
    return text


async def version_input(update: Update, context: BotContext, field: str, step: VersionStep) -> None:
    """Text typed for one field of a version."""
    message = update.effective_message
    assert message is not None and update.effective_user is not None
    _ = context.t.gettext
    text = await _typed_text(update, context)
    if text is None:
        return
    try:
        if field == "slot" and step.slot is not None:
            await context.services.groups.set_slot_label(
                context.actor, step.slot, step.locale, text
            )
        elif step.subject == "event":
            await context.services.events.set_version(
                context.actor, step.id, step.locale, **{field: text}
            )
        elif step.subject == "group":
            await context.services.groups.set_version(
                context.actor, step.id, step.locale, **{field: text}
            )
        else:  # a broadcast's versions are written in its composer; a forged row
            await answer_expired(update, context.t)
            return
    except (EventError, GroupError):
        await message.reply_text(_("That didn't work. Please check the text and send it again."))
        return
    following = await _next_key(context, step, _key(field, step))
    if following is None:
        await context.services.chat_state.clear(update.effective_user.id)
        await show_translations(update, context, step.subject, step.id)  # type: ignore[arg-type]
    else:
        await _ask_field(update, context, step, following)


# --- volunteer translators -----------------------------------------------------------------


async def translate_command(update: Update, context: BotContext) -> None:
    """/translate: a translator's open tasks and what they translated; others may offer."""
    t = context.t
    _ = t.gettext
    service = context.services.translations
    if context.resident is None:
        await show(update, _("👋 To begin, send /start and choose your language."))
        return
    if not context.actor.is_translator:
        await show(
            update,
            _(
                "🌐 Do you speak {language} well? Neighbours who read it would be glad of your "
                "help: translate what the neighbourhood office writes, when you have time."
            ).format(language=t.isolate(language_name(context.locale or t.locale))),
            InlineKeyboardMarkup([[_b(_("🙋 I'd like to translate"), TranslatorButton("offer"))]]),
        )
        return
    tasks = await service.open_tasks(context.actor)
    done = await service.translated_by(context.actor)
    lines = [
        t.ngettext(
            "🌐 {count} text waits for a translation into {language}.",
            "🌐 {count} texts wait for a translation into {language}.",
            len(tasks),
        ).format(
            count=t.format_number(len(tasks)),
            language=t.isolate(language_name(context.locale or t.locale)),
        )
    ]
    if done:
        lines.append(
            t.ngettext(
                "🙏 You translated {count} text so far. Thank you!",
                "🙏 You translated {count} texts so far. Thank you!",
                len(done),
            ).format(count=t.format_number(len(done)))
        )
        lines += [f"• {_quote(t, task.title, 80)}" for task in done[:10]]
    rows = [[_b("✍️ " + task.title[:40], TaskButton("do", task.id))] for task in tasks[:10]]
    await show(update, "\n".join(lines), InlineKeyboardMarkup(rows) if rows else None)


async def _ask_translation(
    update: Update, context: BotContext, task: TaskView, draft: TranslationDraft, field: str
) -> None:
    t = context.t
    _ = t.gettext
    assert update.effective_user is not None
    await context.services.chat_state.expect(update.effective_user.id, TRANSLATE.at(field, draft))
    text = "\n".join(
        [
            _("✍️ Please send the {field} in {language}:").format(
                field=f"<b>{translation_field(t, field)}</b>",
                language=t.language_in_mine(task.locale),
            ),
            _quote(t, task.source.get(field), 1500),
        ]
    )
    show_skip = field != REQUIRED.get(task.subject)
    rows = [[_b(_("⏭ Skip"), TaskButton("do", task.id))]] if show_skip else []
    assert update.effective_chat is not None
    await update.effective_chat.send_message(
        text, reply_markup=InlineKeyboardMarkup(rows) if rows else None
    )


def _fields_of(task: TaskView) -> list[str]:
    return [f for f in FIELDS.get(task.subject, ()) if f in task.source]


async def _after_field(
    update: Update, context: BotContext, task: TaskView, draft: TranslationDraft, field: str
) -> None:
    """The next field of the task, or the translation sent for approval."""
    t = context.t
    _ = t.gettext
    order = _fields_of(task)
    following = order[order.index(field) + 1] if order.index(field) + 1 < len(order) else None
    if following is not None:
        await _ask_translation(update, context, task, draft, following)
        return
    assert update.effective_user is not None
    await context.services.chat_state.clear(update.effective_user.id)
    text = {f: getattr(draft, f) for f in order if getattr(draft, f)}
    try:
        await context.services.translations.submit(context.actor, task.id, text)
    except TranslationError:
        await show(update, _("🙏 Thank you! Someone else was quicker with this one, though."))
        return
    await show(
        update,
        _("🙏 Thank you! A coordinator will look at your translation, then neighbours read it."),
    )


NextField = Callable[[Update, BotContext, TaskView, TranslationDraft, str], Awaitable[None]]


async def _skipped(
    update: Update,
    context: BotContext,
    flow: Flow[TranslationDraft],
    task: TaskView,
    then: NextField,
) -> bool:
    """A task's button tapped while its flow asks for a field is "⏭ Skip": move on without
    that field. False when no field of this task is being asked."""
    pending = context.pending
    draft = flow.read(pending) if pending is not None else None
    if pending is None or draft is None or draft.id != task.id:
        return False
    assert update.effective_user is not None and update.callback_query is not None
    claimed = await take_step(context, update.effective_user.id, flow, pending.step)
    if claimed is None:
        await answer_expired(update, context.t)
        return True
    await update.callback_query.answer()
    await then(update, context, task, claimed, pending.step)
    return True


async def task_button(update: Update, context: BotContext, button: TaskButton) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    t = context.t
    _ = t.gettext
    service = context.services.translations
    try:
        if button.action == "list":
            await query.answer()
            await translate_command(update, context)
            return
        assert button.task_id is not None
        task = await service.get(context.actor, button.task_id)
        if button.action == "do":
            if await _skipped(update, context, TRANSLATE, task, _after_field):
                return
            if task.status != "open":
                await query.answer(_("Thank you! This one is translated already."), show_alert=True)
                return
            await query.answer()
            await _ask_translation(
                update, context, task, TranslationDraft(task.id), _fields_of(task)[0]
            )
        elif button.action == "edit":
            # "Skip" while correcting keeps the field as the translator wrote it.
            if await _skipped(update, context, TASK_EDIT, task, _after_correction):
                return
            if not context.actor.is_staff or task.status != "submitted" or not task.result:
                await answer_expired(update, t)
                return
            await query.answer()
            first = _corrected_fields(task)[0]
            await _ask_correction(update, context, task, TranslationDraft(task.id), first)
        elif button.action in ("ok", "no"):
            if button.action == "ok":
                await service.approve(context.actor, task.id)
            else:
                await service.reject(context.actor, task.id)
            await query.answer(
                _("✅ Approved: residents read it now.")
                if button.action == "ok"
                else _("Rejected. The task is open for the translators again.")
            )
            with contextlib.suppress(BadRequest):
                await query.edit_message_reply_markup(None)
    except TranslationError:
        await answer_expired(update, t)


def _corrected_fields(task: TaskView) -> list[str]:
    return [f for f in _fields_of(task) if task.result and f in task.result]


async def _ask_correction(
    update: Update, context: BotContext, task: TaskView, draft: TranslationDraft, field: str
) -> None:
    t = context.t
    _ = t.gettext
    assert update.effective_user is not None and update.effective_chat is not None
    await context.services.chat_state.expect(update.effective_user.id, TASK_EDIT.at(field, draft))
    text = "\n".join(
        [
            _("✏️ {field} in {language}:").format(
                field=f"<b>{translation_field(t, field)}</b>",
                language=t.language_in_mine(task.locale),
            ),
            _("Original: {text}").format(text=_quote(t, task.source.get(field))),
            _("Now: {text}").format(text=_quote(t, (task.result or {}).get(field))),
        ]
    )
    keep = InlineKeyboardMarkup([[_b(_("⏭ Skip"), TaskButton("edit", task.id))]])
    await update.effective_chat.send_message(text, reply_markup=keep)


async def _after_correction(
    update: Update, context: BotContext, task: TaskView, draft: TranslationDraft, field: str
) -> None:
    """The next field to correct, or the corrected translation approved."""
    _ = context.t.gettext
    order = _corrected_fields(task)
    at = order.index(field) + 1 if field in order else len(order)
    if at < len(order):
        await _ask_correction(update, context, task, draft, order[at])
        return
    assert update.effective_user is not None
    await context.services.chat_state.clear(update.effective_user.id)
    edits = {f: getattr(draft, f) for f in order if getattr(draft, f)}
    try:
        await context.services.translations.approve(context.actor, task.id, edits)
    except TranslationError:
        await show(update, _("⚠️ This button is no longer valid. Please send /menu."))
        return
    await show(update, _("✅ Approved: residents read it now."))


async def correction_input(
    update: Update, context: BotContext, field: str, draft: TranslationDraft
) -> None:
    """A coordinator's corrected text for one field of a submitted translation."""
    text = await _typed_text(update, context)
    if text is None:
        return
    try:
        task = await context.services.translations.get(context.actor, draft.id)
    except (TranslationError, NotAllowed):
        assert update.effective_user is not None
        await context.services.chat_state.clear(update.effective_user.id)
        await refuse(
            update, context.t.gettext("⚠️ This button is no longer valid. Please send /menu.")
        )
        return
    typed: dict[str, Any] = {field: text}
    await _after_correction(update, context, task, replace(draft, **typed), field)


async def translation_input(
    update: Update, context: BotContext, field: str, draft: TranslationDraft
) -> None:
    """A translator's text for one field of a task."""
    _ = context.t.gettext
    text = await _typed_text(update, context)
    if text is None:
        return
    try:
        task = await context.services.translations.get(context.actor, draft.id)
    except (TranslationError, NotAllowed):
        assert update.effective_user is not None
        await context.services.chat_state.clear(update.effective_user.id)
        await refuse(update, _("⚠️ This button is no longer valid. Please send /menu."))
        return
    typed: dict[str, Any] = {field: text}
    await _after_field(update, context, task, replace(draft, **typed), field)


async def translator_button(update: Update, context: BotContext, button: TranslatorButton) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    t = context.t
    _ = t.gettext
    service = context.services.translations
    if button.action == "offer":
        if context.resident is None:
            await answer_expired(update, t)
            return
        await service.offer(context.actor, update.effective_user.first_name)
        await query.answer()
        await show(
            update,
            _("🙏 Thank you! A coordinator will get back to you here soon."),
        )
        return
    assert button.telegram_id is not None
    if button.action == "yes":
        try:
            await service.appoint(context.actor, button.telegram_id)
        except TranslationError:
            await answer_expired(update, t)
            return
        await query.answer(_("✅ Done: they are a translator now and have been told."))
    else:
        if not context.actor.is_staff:
            raise NotAllowed("translation.appoint")
        await query.answer()
    with contextlib.suppress(BadRequest):
        await query.edit_message_reply_markup(None)
