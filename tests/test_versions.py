"""One rule for reading content written in several languages (bot/services/versions.py), the
same for events, groups, help tasks and broadcasts."""

from __future__ import annotations

from dataclasses import dataclass

from bot.services.broadcasts import Version
from bot.services.events import EventVersionView
from bot.services.groups import GroupVersionView, SlotView
from bot.services.versions import missing_locales, pick_version, write_version


def test_the_readers_language_first_then_field_by_field_the_default() -> None:
    versions = {
        "de": GroupVersionView("de", "Gemeinschaftsgarten", "Wir gärtnern im Hof.", "dienstags"),
        "ar": GroupVersionView("ar", "حديقة الحي", None, "  "),
    }
    arabic = pick_version(versions, "ar", "de")
    # Nothing dropped: the Arabic name, the German description and rhythm where Arabic has none.
    assert arabic == GroupVersionView("ar", "حديقة الحي", "Wir gärtnern im Hof.", "dienstags")
    assert pick_version(versions, "tr", "de") == versions["de"]
    assert pick_version(versions, "de", "de") is versions["de"]


def test_without_the_default_language_any_version_rather_than_nothing() -> None:
    only_turkish = {"tr": EventVersionView("tr", "Masa tenisi", None)}
    assert pick_version(only_turkish, "uk", "de") == only_turkish["tr"]
    assert pick_version({}, "uk", "de") is None


def test_a_broadcasts_text_and_voice_fall_back_together() -> None:
    versions = {
        "de": Version("de", "Hoffest am Samstag", None),
        "tr": Version("tr", None, "voice-tr"),
    }
    # A Turkish voice note is the Turkish message: no German caption is glued to it.
    assert pick_version(versions, "tr", "de", per_field=False) == versions["tr"]
    assert pick_version(versions, "tr", "de").text == "Hoffest am Samstag"  # type: ignore[union-attr]


def test_help_task_labels_use_the_same_rule() -> None:
    slot = SlotView(1, 1, {"de": "Gießen", "uk": "Поливати"}, 3, 0)
    assert slot.label_for("uk", "de") == "Поливати"
    assert slot.label_for("ar", "de") == "Gießen"
    assert SlotView(2, 1, {"tr": "Sulamak"}, 3, 0).label_for("ar", "de") == "Sulamak"


@dataclass
class Row:
    locale: str
    title: str
    description: str | None = None


def test_writing_a_version_adds_the_language_or_changes_only_what_is_given() -> None:
    rows = [Row("de", "Hoffest", "Mit Kuchen")]
    write_version(rows, "de", lambda: Row("de", "?"), title="Sommerfest")
    assert rows == [Row("de", "Sommerfest", "Mit Kuchen")]  # the description stays
    write_version(rows, "tr", lambda: Row("tr", "Avlu şenliği"), description=None)
    assert [r.locale for r in rows] == ["de", "tr"]
    assert missing_locales({r.locale: r for r in rows}, ("de", "tr", "ar", "uk")) == ["ar", "uk"]
