"""Inline keyboards. Labels are translated here; callback data is a ``bot.buttons`` record."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Literal

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.buttons import (
    Button,
    ConsentButton,
    DigestButton,
    LanguageButton,
    MenuButton,
    PrivacyButton,
    QuietButton,
    SettingsButton,
    TopicButton,
    TopicsDoneButton,
)
from bot.i18n import Translator, language_name
from bot.rendering import topic_label as topic_label  # re-exported: keyboards label topics


def button(text: str, data: Button) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data.pack())


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
    buttons = [button(language_name(locale), LanguageButton(locale, link)) for locale in ordered]
    if ordered and ordered[0] == suggested:
        return InlineKeyboardMarkup([[buttons[0]], *_rows(buttons[1:], 3)])
    return InlineKeyboardMarkup(_rows(buttons, 3))


def consent(t: Translator, link: str | None = None) -> InlineKeyboardMarkup:
    _ = t.gettext
    return InlineKeyboardMarkup(
        [
            [button(_("✅ Yes, I agree"), ConsentButton("yes", t.locale, link))],
            [button(_("No, thanks"), ConsentButton("no", t.locale, link))],
        ]
    )


def from_payload(rows: Sequence[Sequence[dict[str, str]]]) -> InlineKeyboardMarkup:
    """The keyboard of a Bot API payload (bot/rendering.py), for a handler to show it."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b["text"], callback_data=b["callback_data"]) for b in row]
            for row in rows
        ]
    )


def topics(
    t: Translator,
    offered: Iterable[str],
    chosen: frozenset[str],
    then: Literal["settings"] | None = None,
) -> InlineKeyboardMarkup:
    """The topics to tap; ``then="settings"``: opened from the settings, Done goes back there."""
    _ = t.gettext
    rows = [
        [button(("✅ " if key in chosen else "") + topic_label(t, key), TopicButton(key, then))]
        for key in offered
    ]
    # Translators: ends the choice of topics; the question says: then press “Done” (same word)
    rows.append([button(_("✔️ Done"), TopicsDoneButton(then))])
    return InlineKeyboardMarkup(rows)


def main_menu(t: Translator) -> InlineKeyboardMarkup:
    _ = t.gettext
    return InlineKeyboardMarkup(
        [
            [button(_("📅 Events"), MenuButton("events"))],
            [button(_("🤝 Projects and groups"), MenuButton("projects"))],
            [button(_("💡 Share an idea"), MenuButton("idea"))],
            [
                button(_("📝 My sign-ups"), MenuButton("signups")),
                button(_("⚙️ Settings"), SettingsButton("open")),
            ],
        ]
    )


def back_to_menu(t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button(t.gettext("🏠 Main menu"), MenuButton("home"))]])


def settings(t: Translator, broadcast_opt_in: bool, digest_opt_in: bool) -> InlineKeyboardMarkup:
    _ = t.gettext
    news = (
        button(_("🔕 Turn news off"), SettingsButton("news_off"))
        if broadcast_opt_in
        else button(_("🔔 Turn news on"), SettingsButton("news_on"))
    )
    return InlineKeyboardMarkup(
        [
            [
                button(_("🌐 Language"), SettingsButton("language")),
                button(_("🏷 Topics"), SettingsButton("topics")),
            ],
            [news],
            [
                button(_("🌙 Quiet hours"), SettingsButton("quiet")),
                button(_("🗓 Weekly overview: on"), DigestButton("off"))
                if digest_opt_in
                else button(_("🗓 Weekly overview: off"), DigestButton("on")),
            ],
            [button(_("🔒 Privacy"), SettingsButton("privacy"))],
            [button(_("🏠 Main menu"), MenuButton("home"))],
        ]
    )


def privacy(t: Translator) -> InlineKeyboardMarkup:
    _ = t.gettext
    return InlineKeyboardMarkup(
        [
            [button(_("🗑 Delete my data"), PrivacyButton("ask"))],
            [button(_("🏠 Main menu"), MenuButton("home"))],
        ]
    )


def confirm_delete(t: Translator) -> InlineKeyboardMarkup:
    _ = t.gettext
    return InlineKeyboardMarkup(
        [
            [button(_("🗑 Yes, delete everything"), PrivacyButton("delete"))],
            # Translators: answers "Do you really want to delete all your data?"
            [button(t.pgettext("delete data", "↩️ No, keep it"), PrivacyButton("keep"))],
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
        rows.append([button(("✅ " if chosen else "") + label, QuietButton((start, end)))])
    off = current[0] == current[1]
    rows.append([button(("✅ " if off else "") + _("No quiet hours"), QuietButton(None))])
    rows.append([button(_("↩️ Back"), SettingsButton("open"))])
    return InlineKeyboardMarkup(rows)


def paging_row(
    t: Translator, offset: int, total: int, page_size: int, data_for: Callable[[int], Button]
) -> list[list[InlineKeyboardButton]]:
    """◀️ / ▶️ for a list shown a page at a time; no row when everything fits on one page.

    The arrows point the reading way: in right-to-left languages "next" is ◀️ and "back" ▶️,
    and, as Telegram lays a row of buttons out left to right whatever the language, "next"
    comes first, so that the arrows sit where they do in left-to-right languages."""
    back, forward = ("▶️", "◀️") if t.rtl else ("◀️", "▶️")
    row = []
    if offset > 0:
        row.append(button(back, data_for(max(0, offset - page_size))))
    if offset + page_size < total:
        row.append(button(forward, data_for(offset + page_size)))
    if t.rtl:
        row.reverse()
    return [row] if row else []
