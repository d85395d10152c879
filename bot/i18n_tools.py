"""The catalog workflow: extract ``messages.pot``, update the ``.po`` files, and check them.

``check`` is what keeps the rule "every resident-facing string is translated in every locale"
true: the tests run it, and so can a translator before sending in their work. It also reads
``locales/GLOSSARY.md`` and flags a key term translated off the glossary, a word a language
decided to avoid, and digits other than the ones the glossary names (see the end of the file).
"""

from __future__ import annotations

import io
import re
import string
import unicodedata
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
from bot.locales import babel_locale

#: Where resident-facing strings live. The sandbox is a developer tool and stays English.
SOURCE_DIRS = ("bot", "handlers")
EXCLUDED = ("bot/sandbox/**",)
#: The dashboard's Jinja2 templates (paths relative to a SOURCE_DIRS entry), extracted with
#: Jinja2's babel extractor: ``{{ _("…") }}``, ``{% trans %}``, ``ngettext``, ``pgettext``.
TEMPLATES = "web/templates/**.html"
TEMPLATE_OPTIONS = {"extensions": "jinja2.ext.i18n", "trimmed": "true"}
#: babel's keywords (``_``, ``gettext``, ``ngettext``, ``pgettext`` and ``npgettext`` with the
#: context first, also as methods: ``t.pgettext("delete data", "↩️ No, keep it")``) and ``N_``.
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
    method_map = [(pattern, "ignore") for pattern in EXCLUDED] + [
        (TEMPLATES, "jinja2"),
        ("**.py", "python"),
    ]
    for directory in SOURCE_DIRS:
        found = extract_from_dir(
            root / directory,
            method_map=method_map,
            options_map={TEMPLATES: TEMPLATE_OPTIONS},
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
    msgid = _named(message)

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
    try:
        glossary = load_glossary(locales_dir)
    except GlossaryError as exc:
        glossary = None
        problems.append(Problem("glossary", GLOSSARY_NAME, f"unreadable ({exc})"))
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
        plural = get_plural(babel_locale(locale))  # a variety counts as its language
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
                problems.append(Problem(locale, _named(message), "missing; run `make i18n-update`"))
                continue
            found = check_message(locale, translated, plural_count)
            problems.extend(found)
            if glossary is not None and not found:  # only a sound translation is worth reading
                problems.extend(glossary.check_message(locale, translated))
    return problems


def _first(msgid: str | Sequence[str]) -> str:
    return msgid if isinstance(msgid, str) else msgid[0]


def _named(message: Message) -> str:
    """How a problem names a message: its msgid, after its context if it has one."""
    first = _first(message.id)
    return first if message.context is None else f"{message.context}|{first}"


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


# The glossary: locales/GLOSSARY.md fixes one word per key term and language; the check reads
# its tables and flags a translation that names a term off-glossary. The file's top explains
# the syntax; in short, a term row gives the English words to look for in a msgid and, per
# language, the accepted forms ("A / B" either, "A + B" both), matched as folded substrings.

GLOSSARY_NAME = "GLOSSARY.md"

_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
_SLASH_COMMAND = re.compile(r"(?<![\w/])/[A-Za-z][A-Za-z0-9_]*")
_HTML = re.compile(r"<[^<>]*>")
_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
_NOT_CHECKED = {"", "—", "-"}


class GlossaryError(ValueError):
    """The glossary file can't be read as the check expects (a missing table, a bad pattern)."""


def fold(text: str) -> str:
    """What the glossary compares: no placeholders, commands or tags; lower case (casefold);
    accents and other combining marks removed (é -> e, ş -> s, Greek tonos, Arabic harakat and
    hamza above); zero-width and direction marks removed; typographic apostrophes made plain."""
    decomposed = unicodedata.normalize("NFD", _strip(text).replace("’", "'"))
    kept = "".join(char for char in decomposed if unicodedata.category(char) not in ("Mn", "Cf"))
    return unicodedata.normalize("NFC", kept).casefold()


def _strip(text: str) -> str:
    """Text without placeholders, commands and HTML tags, which never name a term."""
    return _HTML.sub(" ", _SLASH_COMMAND.sub(" ", _PLACEHOLDER.sub(" ", text))).strip()


def _source_pattern(cell: str) -> re.Pattern[str]:
    """``re:…`` is a regular expression (case-insensitive); otherwise English phrases split by
    " / ", each matched at word boundaries, a trailing ``*`` standing for any word ending."""
    try:
        if cell.startswith("re:"):
            return re.compile(cell[3:], re.IGNORECASE)
        phrases = [phrase.strip() for phrase in cell.split(" / ") if phrase.strip()]
        if not phrases:
            raise GlossaryError("a term without English words")
        parts = [re.escape(phrase).replace(r"\*", r"\w*") for phrase in phrases]
        return re.compile(r"\b(?:" + "|".join(parts) + r")\b", re.IGNORECASE)
    except re.error as exc:
        raise GlossaryError(f"bad pattern {cell!r}: {exc}") from exc


def _avoid_pattern(cell: str) -> re.Pattern[str]:
    """``re:…`` is a regular expression over the folded text; otherwise a folded substring."""
    try:
        return re.compile(cell[3:] if cell.startswith("re:") else re.escape(fold(cell)))
    except re.error as exc:
        raise GlossaryError(f"bad pattern {cell!r}: {exc}") from exc


def _forms_of(cell: str) -> tuple[tuple[str, ...], ...]:
    alternatives = []
    for alternative in cell.split(" / "):
        parts = tuple(fold(part) for part in alternative.split(" + ") if fold(part).strip())
        if parts:
            alternatives.append(parts)
    return tuple(alternatives)


@dataclass(frozen=True)
class Term:
    id: str
    english: str
    source: re.Pattern[str]
    #: locale -> the accepted alternatives, each a tuple of parts that must all occur
    forms: dict[str, tuple[tuple[str, ...], ...]]
    #: locale -> the cell as written, for the report
    cells: dict[str, str]

    def applies_to(self, msgid_text: str) -> bool:
        return self.source.search(_strip(msgid_text)) is not None

    def fits(self, locale: str, translation: str) -> bool:
        folded = fold(translation)
        return any(all(part in folded for part in parts) for parts in self.forms[locale])


@dataclass(frozen=True)
class Avoid:
    locale: str
    written: str
    pattern: re.Pattern[str]
    instead: str


@dataclass(frozen=True)
class Glossary:
    terms: tuple[Term, ...]
    avoid: tuple[Avoid, ...]
    #: the locales whose digits must be Latin (0-9) inside translations
    latin_digits: frozenset[str]

    def check_message(self, locale: str, message: Message) -> list[Problem]:
        """A sound translation (complete, placeholders right) against the glossary."""
        ids, strings = _forms(message)
        source, translation = " ".join(ids), " ".join(strings)
        label = _named(message)
        problems = [
            Problem(
                locale,
                label,
                f'glossary: {term.id} ("{term.english}") should read "{term.cells[locale]}"',
            )
            for term in self.terms
            if locale in term.forms
            and term.applies_to(source)
            and not term.fits(locale, translation)
        ]
        folded = fold(translation)
        problems += [
            Problem(locale, label, f'glossary: avoid "{rule.written}", write {rule.instead}')
            for rule in self.avoid
            if rule.locale == locale and rule.pattern.search(folded)
        ]
        if locale in self.latin_digits:
            other = sorted({c for c in translation if c.isdecimal() and not c.isascii()})
            if other:
                problems.append(
                    Problem(
                        locale, label, f"glossary: digits are Latin (0-9), not {''.join(other)}"
                    )
                )
        return problems


def _tables(text: str) -> list[list[list[str]]]:
    """The Markdown tables of ``text``: rows of cells, without the separator row."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        stripped = line.strip()
        if stripped.startswith("|"):
            body = (
                stripped[1:-1]
                if stripped.endswith("|") and not stripped.endswith("\\|")
                else stripped[1:]
            )
            cells = [cell.strip().replace("\\|", "|") for cell in _UNESCAPED_PIPE.split(body)]
            cells = [
                cell[1:-1] if len(cell) > 1 and cell[0] == cell[-1] == "`" else cell
                for cell in cells
            ]
            if not all(set(cell) <= set(":- ") for cell in cells):
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    return tables


def parse_glossary(text: str) -> Glossary:
    """The tables of GLOSSARY.md: terms, words to avoid, and the register (for the digits)."""
    terms: list[Term] = []
    avoid: list[Avoid] = []
    latin: set[str] = set()
    kinds = set()
    for header, *rows in _tables(text):
        kind = tuple(cell.lower() for cell in header[:2])
        kinds.add(kind)
        if kind == ("id", "english"):
            if len(header) < 4 or header[2].lower() != "match":
                raise GlossaryError("the term table's third column must be | match |")
            for row in rows:
                if len(row) != len(header):
                    raise GlossaryError(
                        f"term {row[0]!r}: {len(row)} cells, the header has {len(header)}"
                    )
                cells = {
                    locale: cell
                    for locale, cell in zip(header[3:], row[3:], strict=True)
                    if cell not in _NOT_CHECKED
                }
                forms = {locale: _forms_of(cell) for locale, cell in cells.items()}
                # no match: the English words themselves, without a note in brackets
                english = re.sub(r"\s*\(.*\)$", "", row[1])
                pattern = _source_pattern(row[2] if row[2] not in _NOT_CHECKED else english)
                terms.append(Term(row[0], row[1], pattern, forms, cells))
        elif kind == ("lang", "avoid"):
            for row in rows:
                if len(row) < 3:
                    raise GlossaryError(f"avoid row {row!r}: lang, avoid and instead are needed")
                avoid.append(Avoid(row[0], row[1], _avoid_pattern(row[1]), row[2]))
        elif kind == ("lang", "register") and "digits" in (names := [c.lower() for c in header]):
            column = names.index("digits")
            latin |= {row[0] for row in rows if row[column].lower().startswith("latin")}
    if ("id", "english") not in kinds:
        raise GlossaryError("no term table (a header starting | id | english |)")
    return Glossary(tuple(terms), tuple(avoid), frozenset(latin))


def terms_for(
    glossary: Glossary, text: str, source_locale: str, locale: str
) -> list[tuple[str, str]]:
    """The glossary's terms that ``text`` (written in ``source_locale``) uses, each with the
    word ``locale`` writes for it: what a volunteer translator is shown with a task."""
    found = []
    for term in glossary.terms:
        known = source_locale in term.forms and locale in term.forms and locale in term.cells
        if known and term.fits(source_locale, text):
            found.append((term.cells[source_locale], term.cells[locale]))
    return found


def load_glossary(locales_dir: Path = LOCALES_DIR) -> Glossary | None:
    """The glossary next to the catalogs, or None if there is none."""
    path = locales_dir / GLOSSARY_NAME
    if not path.exists():
        return None
    return parse_glossary(path.read_text(encoding="utf-8"))
