"""The catalog workflow: extract ``messages.pot``, update the ``.po`` files, and check them.

``check`` is what keeps the rule "every resident-facing string is translated in every locale"
true: the tests run it, and so can a translator before sending in their work.
"""

from __future__ import annotations

import io
import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po, write_po

from bot.config import PROJECT_ROOT
from bot.i18n import DOMAIN, LOCALES_DIR

#: Where resident-facing strings live. The sandbox is a developer tool and stays English.
SOURCE_DIRS = ("bot", "handlers")
EXCLUDED = ("bot/sandbox/**",)
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None}
POT_NAME = f"{DOMAIN}.pot"

_TAG = re.compile(r"</?([a-zA-Z][a-zA-Z0-9-]*)")


def extract(root: Path = PROJECT_ROOT) -> Catalog:
    catalog = Catalog(
        project="quartierbot",
        charset="utf-8",
        fuzzy=False,
        copyright_holder="Quartierbot contributors",
        msgid_bugs_address="",
        header_comment="# Quartierbot messages, extracted from the code by `make i18n-extract`.",
    )
    method_map = [(pattern, "ignore") for pattern in EXCLUDED] + [("**.py", "python")]
    for directory in SOURCE_DIRS:
        found = extract_from_dir(
            root / directory,
            method_map=method_map,
            keywords=KEYWORDS,
            comment_tags=("Translators:",),
            strip_comment_tags=True,
        )
        for filename, _lineno, message, comments, context in found:
            # Files only, no line numbers: the template changes only when messages do.
            location: Any = (f"{directory}/{filename}", None)
            catalog.add(message, None, [location], auto_comments=comments, context=context)
    return catalog


def render_pot(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    # No creation date either, for the same reason.
    write_po(buffer, catalog, width=100, omit_header=False, include_lineno=False, sort_output=True)
    return re.sub(rb'"POT-Creation-Date: [^"]*\\n"\n', b"", buffer.getvalue())


def po_path(locale: str, locales_dir: Path = LOCALES_DIR) -> Path:
    return locales_dir / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def write_template(locales_dir: Path = LOCALES_DIR, root: Path = PROJECT_ROOT) -> Path:
    path = locales_dir / POT_NAME
    path.write_bytes(render_pot(extract(root)))
    return path


def update_catalogs(locales: Iterable[str], locales_dir: Path = LOCALES_DIR) -> list[Path]:
    """Bring every ``.po`` in line with the template; new messages arrive untranslated."""
    with (locales_dir / POT_NAME).open("rb") as handle:
        template = read_po(handle)
    written = []
    for locale in locales:
        path = po_path(locale, locales_dir)
        if path.exists():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=locale)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(
                locale=locale,
                project="quartierbot",
                charset="utf-8",
                copyright_holder="Quartierbot contributors",
                header_comment=f"# Quartierbot messages in {locale}.",
            )
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
        catalog.obsolete.clear()
        catalog.fuzzy = False  # the header; fuzzy messages are still left out when compiling
        buffer = io.BytesIO()
        write_po(buffer, catalog, width=100, include_lineno=False, sort_output=True)
        path.write_bytes(re.sub(rb'"POT-Creation-Date: [^"]*\\n"\n', b"", buffer.getvalue()))
        written.append(path)
    return written


@dataclass(frozen=True)
class Problem:
    locale: str
    msgid: str
    what: str

    def __str__(self) -> str:
        short = self.msgid if len(self.msgid) <= 60 else self.msgid[:57] + "..."
        return f"{self.locale}: {self.what}: {short!r}"


def placeholders(text: str) -> set[str]:
    """The ``{name}`` fields of a format string; raises ValueError on a broken one."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def tags(text: str) -> list[str]:
    return sorted(_TAG.findall(text))


def _forms(message: Message) -> tuple[list[str], list[str]]:
    ids = list(message.id) if isinstance(message.id, (list, tuple)) else [message.id]
    if isinstance(message.string, (list, tuple)):
        strings = list(message.string)
    else:
        strings = [message.string] if message.string else []
    return ids, strings


def check_message(locale: str, message: Message, plural_count: int) -> list[Problem]:
    ids, strings = _forms(message)
    msgid = ids[0]

    def problem(what: str) -> Problem:
        return Problem(locale, msgid, what)

    if message.fuzzy:
        return [problem("marked fuzzy (needs review)")]
    filled = [text for text in strings if text.strip()]
    if not filled:
        return [problem("untranslated")]
    if len(ids) > 1 and (len(strings) != plural_count or len(filled) != len(strings)):
        # babel pads missing plural forms with empty strings when it reads a catalog
        return [problem(f"{len(filled)} plural forms, {locale} needs {plural_count}")]
    if len(filled) != len(strings):
        return [problem("untranslated")]
    try:
        expected = set().union(*(placeholders(text) for text in ids))
        found = [placeholders(text) for text in strings]
    except ValueError as exc:
        return [problem(f"broken placeholder ({exc})")]
    problems = []
    if len(ids) == 1:
        if found[0] != expected:
            problems.append(
                problem(f"placeholders {sorted(found[0])} instead of {sorted(expected)}")
            )
    else:
        # A singular form may leave out {count} ("one seat"), but may not invent a field, and
        # the last form serves most numbers, so it must carry every field.
        for form in found:
            if not form <= expected:
                problems.append(problem(f"unknown placeholders {sorted(form - expected)}"))
        if found[-1] != placeholders(ids[-1]):
            problems.append(problem(f"last plural form has {sorted(found[-1])}"))
    if any(tags(text) != tags(ids[0]) for text in strings[:1]) or any(
        tags(text) != tags(ids[-1]) for text in strings[1:]
    ):
        problems.append(problem("HTML tags differ from the original"))
    return problems


def check(
    locales: Sequence[str], locales_dir: Path = LOCALES_DIR, root: Path | None = PROJECT_ROOT
) -> list[Problem]:
    """Everything wrong with the catalogs; an empty list means they are complete and sound."""
    problems: list[Problem] = []
    template_path = locales_dir / POT_NAME
    if not template_path.exists():
        return [Problem("pot", POT_NAME, "missing; run `make i18n-extract`")]
    with template_path.open("rb") as handle:
        template = read_po(handle)
    if root is not None:
        fresh = extract(root)
        expected = {
            message.id if isinstance(message.id, str) else tuple(message.id)
            for message in fresh
            if message.id
        }
        committed = {
            message.id if isinstance(message.id, str) else tuple(message.id)
            for message in template
            if message.id
        }
        for missing in sorted(map(str, expected - committed)):
            problems.append(
                Problem(
                    "pot", missing, "in the code but not in messages.pot; run `make i18n-extract`"
                )
            )
        for stale in sorted(map(str, committed - expected)):
            problems.append(
                Problem(
                    "pot",
                    stale,
                    "in messages.pot but no longer in the code; run `make i18n-extract`",
                )
            )
    for locale in locales:
        path = po_path(locale, locales_dir)
        if not path.exists():
            problems.append(Problem(locale, str(path), "catalog missing"))
            continue
        try:
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=locale, abort_invalid=True)
        except Exception as exc:  # babel raises several kinds for a broken file
            problems.append(Problem(locale, str(path), f"unreadable ({exc})"))
            continue
        plural_count = get_plural(locale).num_plurals
        for message in template:
            if not message.id:
                continue
            translated = catalog.get(message.id, context=message.context)
            if translated is None:
                problems.append(
                    Problem(locale, _first(message.id), "missing; run `make i18n-update`")
                )
                continue
            problems.extend(check_message(locale, translated, plural_count))
    return problems


def _first(msgid: str | Sequence[str]) -> str:
    return msgid if isinstance(msgid, str) else msgid[0]
