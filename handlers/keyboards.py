"""Inline keyboards. Labels are translated here; callback data comes from ``callbacks``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Translator, language_name
from bot.topics import TOPIC_LABELS
from handlers import callbacks


def _rows(
    buttons: Sequence[InlineKeyboardButton], per_row: int
) -> list[list[InlineKeyboardButton]]:
    return [list(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row)]


def language_picker(
    locales: Sequence[str], suggested: str | None, link: str | None = None
) -> InlineKeyboardMarkup:
    """Every language named in itself; the one Telegram suggests comes first, on its own row."""
    ordered = [suggested] if suggested is not None and suggested in locales else []
    ordered += [locale for locale in locales if locale != suggested]
    buttons = [
        InlineKeyboardButton(language_name(locale), callback_data=callbacks.language(locale, link))
        for locale in ordered
    ]
    if ordered and ordered[0] == suggested:
        return InlineKeyboardMarkup([[buttons[0]], *_rows(buttons[1:], 3)])
    return InlineKeyboardMarkup(_rows(buttons, 3))


def consent(t: Translator, link: str | None = None) -> InlineKeyboardMarkup:
    _ = t.gettext
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("✅ Yes, I agree"), callback_data=callbacks.consent("yes", t.locale, link)
                )
            ],
            [
                InlineKeyboardButton(
                    _("No, thanks"), callback_data=callbacks.consent("no", t.locale, link)
                )
            ],
        ]
    )


def topic_label(t: Translator, key: str) -> str:
    emoji, label = TOPIC_LABELS[key]
    return f"{emoji} {t.gettext(label)}"


def topics(t: Translator, offered: Iterable[str], chosen: frozenset[str]) -> InlineKeyboardMarkup:
    _ = t.gettext
    rows = [
        [
            InlineKeyboardButton(
                ("✅ " if key in chosen else "") + topic_label(t, key),
                callback_data=callbacks.topic(key),
            )
        ]
        for key in offered
    ]
    rows.append([InlineKeyboardButton(_("✔️ Done"), callback_data=callbacks.TOPICS_DONE_DATA)])
    return InlineKeyboardMarkup(rows)


def main_menu(t: Translator) -> InlineKeyboardMarkup:
    _ = t.gettext
    button = InlineKeyboardButton
    return InlineKeyboardMarkup(
        [
            [button(_("📅 Events"), callback_data=callbacks.menu("events"))],
            [button(_("🤝 Projects and groups"), callback_data=callbacks.menu("projects"))],
            [button(_("💡 Share an idea"), callback_data=callbacks.menu("idea"))],
            [
                button(_("📝 My sign-ups"), callback_data=callbacks.menu("signups")),
                button(_("⚙️ Settings"), callback_data=callbacks.settings("open")),
            ],
        ]
    )


def back_to_menu(t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(t.gettext("🏠 Main menu"), callback_data=callbacks.menu("home"))]]
    )


def settings(t: Translator, broadcast_opt_in: bool, digest_opt_in: bool) -> InlineKeyboardMarkup:
    _ = t.gettext
    button = InlineKeyboardButton
    news = (
        button(_("🔕 Turn news off"), callback_data=callbacks.settings("news_off"))
        if broadcast_opt_in
        else button(_("🔔 Turn news on"), callback_data=callbacks.settings("news_on"))
    )
    return InlineKeyboardMarkup(
        [
            [
                button(_("🌐 Language"), callback_data=callbacks.settings("language")),
                button(_("🏷 Topics"), callback_data=callbacks.settings("topics")),
            ],
            [news],
            [
                button(_("🌙 Quiet hours"), callback_data=callbacks.settings("quiet")),
                button(_("🗓 Weekly overview: on"), callback_data=callbacks.digest("off"))
                if digest_opt_in
                else button(_("🗓 Weekly overview: off"), callback_data=callbacks.digest("on")),
            ],
            [button(_("🔒 Privacy"), callback_data=callbacks.settings("privacy"))],
            [button(_("🏠 Main menu"), callback_data=callbacks.menu("home"))],
        ]
    )


def privacy(t: Translator) -> InlineKeyboardMarkup:
    _ = t.gettext
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(_("🗑 Delete my data"), callback_data=callbacks.privacy("ask"))],
            [InlineKeyboardButton(_("🏠 Main menu"), callback_data=callbacks.menu("home"))],
        ]
    )


def confirm_delete(t: Translator) -> InlineKeyboardMarkup:
    _ = t.gettext
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("🗑 Yes, delete everything"), callback_data=callbacks.privacy("delete")
                )
            ],
            [InlineKeyboardButton(_("↩️ No, keep it"), callback_data=callbacks.privacy("keep"))],
        ]
    )


#: The quiet-hour choices offered, as (start hour, end hour); the first is the default.
QUIET_HOUR_CHOICES = ((21, 8), (22, 7), (20, 9), (23, 6))


def quiet_hours(t: Translator, current: tuple[int, int]) -> InlineKeyboardMarkup:
    _ = t.gettext
    rows = []
    for start, end in QUIET_HOUR_CHOICES:
        label = f"{t.isolate(f'{start:02d}:00–{end:02d}:00')}"
        chosen = (start * 60, end * 60) == current
        rows.append(
            [
                InlineKeyboardButton(
                    ("✅ " if chosen else "") + label,
                    callback_data=callbacks.quiet(f"{start}-{end}"),
                )
            ]
        )
    off = current[0] == current[1]
    rows.append(
        [
            InlineKeyboardButton(
                ("✅ " if off else "") + _("No quiet hours"), callback_data=callbacks.quiet("off")
            )
        ]
    )
    rows.append([InlineKeyboardButton(_("↩️ Back"), callback_data=callbacks.settings("open"))])
    return InlineKeyboardMarkup(rows)


def paging_row(
    offset: int, total: int, page_size: int, data_for: Callable[[int], str]
) -> list[list[InlineKeyboardButton]]:
    """◀️ / ▶️ for a list shown a page at a time; no row when everything fits on one page."""
    row = []
    if offset > 0:
        row.append(InlineKeyboardButton("◀️", callback_data=data_for(max(0, offset - page_size))))
    if offset + page_size < total:
        row.append(InlineKeyboardButton("▶️", callback_data=data_for(offset + page_size)))
    return [row] if row else []
