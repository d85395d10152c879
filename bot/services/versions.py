"""What staff write, in several languages: one version per language, and which one a reader gets.

Events (title, description), projects and groups (name, description, meeting rhythm), help
tasks (a label) and broadcasts (a text or a voice note) keep a version per language. This is
the one rule for reading them, so every face of the bot (lists, details, reminders, the
calendar feed, the flyer, the dashboard) shows the same thing:

- the reader's own language;
- a field their version leaves empty comes from the default language's version, field by
  field (a Turkish title without a Turkish description still shows the German description), so
  nothing is dropped; content whose fields only make sense together (a broadcast's text and its
  voice note are one message) opts out with ``per_field = False``;
- with neither, any version there is, rather than nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, Generic, TypeVar

V = TypeVar("V")


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def pick_version(
    versions: Mapping[str, V], locale: str, default_locale: str, *, per_field: bool = True
) -> V | None:
    """The version of ``versions`` that a reader of ``locale`` gets (see the module's rule)."""
    own = versions.get(locale)
    default = versions.get(default_locale)
    if own is None:
        return default if default is not None else next(iter(versions.values()), None)
    if default is None or default is own or not per_field or not dataclasses.is_dataclass(own):
        return own
    missing = {
        field.name: getattr(default, field.name)
        for field in dataclasses.fields(own)
        if field.name != "locale" and _empty(getattr(own, field.name))
    }
    return dataclasses.replace(own, **missing) if missing else own  # type: ignore[type-var]


def missing_locales(versions: Mapping[str, Any], locales: Iterable[str]) -> list[str]:
    """The languages of ``locales`` that have no version yet, in the order given."""
    return [locale for locale in locales if locale not in versions]


class Versioned(Generic[V]):
    """For a frozen view that has ``versions`` (by locale) and ``default_locale`` fields."""

    versions: Mapping[str, V]
    default_locale: str
    #: Whether an empty field falls back on its own (see the module's rule).
    per_field: ClassVar[bool] = True

    def version_for(self, locale: str) -> V | None:
        return pick_version(self.versions, locale, self.default_locale, per_field=self.per_field)


R = TypeVar("R")


def write_version(
    rows: list[R],
    locale: str,
    make: Callable[[], R],
    *,
    default_locale: str | None = None,
    **values: Any,
) -> R:
    """Write one language's version among a parent row's version rows (ORM objects): the row
    of ``locale``, added with ``make()`` when there is none yet (``make`` may refuse by raising,
    e.g. a new language without a title). A value of None leaves that field as it is; an empty
    or blank text clears it.

    With ``default_locale`` (for rows that have ``needs_review``): a change to the default
    language's text marks every other version "to review"; writing another language's version
    is its review, and clears the mark.
    """
    row = next((r for r in rows if getattr(r, "locale", None) == locale), None)
    if row is None:
        row = make()
        rows.append(row)
    changed = False
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, str) and not value.strip():
            value = None
        changed = changed or getattr(row, name, None) != value
        setattr(row, name, value)
    if default_locale is not None:
        if locale != default_locale:
            row.needs_review = False  # type: ignore[attr-defined]
        elif changed:
            for other in rows:
                if other is not row:
                    other.needs_review = True  # type: ignore[attr-defined]
    return row
