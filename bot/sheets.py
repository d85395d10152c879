"""Who comes to an event as a spreadsheet (.xlsx), in the reader's language.

An .xlsx opens the same in German Excel, English Excel and LibreOffice: no list separator to
guess, no encoding to guess. What a resident typed (the note) is written as text, never as a
formula. Built from ``Signups.attendees``, which decides who may see it.
"""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING

from bot.i18n import Translator, language_name
from bot.services.events import AttendeeSummary, SignupView

__all__ = ["attendee_needs", "attendee_workbook", "signup_state"]


def attendee_needs(t: Translator, signup: SignupView, *, isolate: bool = True) -> list[str]:
    """A party's needs in the reader's words: interpreter (for which language), childcare,
    wheelchair access."""
    _ = t.gettext
    needs = []
    if signup.interpreter_locale:
        name = language_name(signup.interpreter_locale)
        needs.append(
            _("🗣 Interpreter: {language}").format(language=t.isolate(name) if isolate else name)
        )
    if signup.childcare:
        needs.append(_("🧸 Childcare"))
    if signup.wheelchair:
        needs.append(_("♿ Wheelchair access"))
    return needs


def signup_state(t: Translator, signup: SignupView) -> str:
    _ = t.gettext
    if signup.status == "waitlisted":
        # Translators: a column value in the attendee list: this party waits for a seat
        return _("Waiting list")
    # Translators: a column value in the attendee list: this party has a seat
    return _("Confirmed")


def attendee_workbook(t: Translator, summary: AttendeeSummary) -> bytes:
    """The confirmed parties, then the waiting list, one row each, as .xlsx bytes."""
    _ = t.gettext
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    # Translators: the title of the attendee spreadsheet's sheet (at most 31 characters)
    sheet.title = _("Attendees")[:31]
    sheet.append(
        [
            # Translators: column headers of the attendee spreadsheet
            _("First name"),
            _("Language"),
            _("Adults"),
            _("Children"),
            _("Needs"),
            _("Note"),
            _("Code"),
            _("Status"),
        ]
    )
    for signup in (*summary.confirmed, *summary.waitlisted):
        sheet.append(
            [
                signup.first_name or "",
                language_name(signup.locale),
                signup.adults,
                signup.children,
                t.format_list(attendee_needs(t, signup, isolate=False)),
                signup.note or "",
                signup.code,
                signup_state(t, signup),
            ]
        )
        for column in (1, 5, 6):  # typed by people: text, even when it begins with "="
            cell = sheet.cell(row=sheet.max_row, column=column)
            cell.data_type = TYPE_STRING
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
