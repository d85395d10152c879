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

from babel import __version__ as BABEL_VERSION
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


#: Header lines that name the tool and the moment rather than the messages.
_GENERATOR_LINES = re.compile(rb'^"(?:Generated-By|POT-Creation-Date): [^"\n]*"\n', re.MULTILINE)


def template_content(pot: bytes) -> bytes:
    """A rendered template without its generator lines, so a new babel alone changes nothing."""
    return _GENERATOR_LINES.sub(b"", pot)


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
        write_catalog(path, catalog)
        written.append(path)
    return written


def write_catalog(path: Path, catalog: Catalog) -> None:
    """Write a locale's ``.po`` the way the project keeps them (sorted, no line numbers)."""
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, include_lineno=False, sort_output=True)
    path.write_bytes(re.sub(rb'"POT-Creation-Date: [^"]*\\n"\n', b"", buffer.getvalue()))


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
    committed_pot = template_path.read_bytes()
    template = read_po(io.BytesIO(committed_pot))
    if root is not None:
        problems.extend(_template_problems(committed_pot, template, extract(root)))
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
        plural = get_plural(locale)
        if catalog.plural_forms != plural.plural_forms:
            problems.append(
                Problem(
                    locale,
                    catalog.plural_forms,
                    f"Plural-Forms header is not babel {BABEL_VERSION}'s {plural.plural_forms!r}"
                    " (see docs/TRANSLATING.md)",
                )
            )
        plural_count = plural.num_plurals
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


_Key = tuple[str | None, str | tuple[str, ...]]


def _key(message: Message) -> _Key:
    msgid = message.id if isinstance(message.id, str) else tuple(message.id)
    return message.context, msgid


def _label(key: _Key) -> str:
    context, msgid = key
    text = msgid if isinstance(msgid, str) else str(msgid)
    return text if context is None else f"{context}|{text}"


def _details(message: Message) -> dict[str, list[Any]]:
    return {
        "flags": sorted(message.flags),
        "comments": message.auto_comments + message.user_comments,
        "locations": sorted(set(message.locations)),
    }


def _template_problems(committed_pot: bytes, committed: Catalog, fresh: Catalog) -> list[Problem]:
    """How the committed template differs from what extraction writes now, message by message.

    The generator's header lines (babel's version, a creation date) do not count.
    """
    old = {_key(message): message for message in committed if message.id}
    new = {_key(message): message for message in fresh if message.id}
    problems = [
        Problem("pot", _label(key), "in the code but not in messages.pot; run `make i18n-extract`")
        for key in sorted(new.keys() - old.keys(), key=_label)
    ]
    problems += [
        Problem(
            "pot", _label(key), "in messages.pot but no longer in the code; run `make i18n-extract`"
        )
        for key in sorted(old.keys() - new.keys(), key=_label)
    ]
    for key in sorted(old.keys() & new.keys(), key=_label):
        was, now = _details(old[key]), _details(new[key])
        differ = [what for what in was if was[what] != now[what]]
        if differ:
            what = " and ".join(differ)
            problems.append(
                Problem("pot", _label(key), f"{what} changed in the code; run `make i18n-extract`")
            )
    if not problems and template_content(committed_pot) != template_content(render_pot(fresh)):
        # the header, or a detail reading the file smooths over (a flag babel adds by itself)
        problems.append(
            Problem(
                "pot",
                POT_NAME,
                "differs from what `make i18n-extract` writes; run it, see the diff",
            )
        )
    return problems
