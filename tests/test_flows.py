"""The flows' declarations, and the one way between a flow's typed data and its stored row:
``Flow.at`` refuses what a flow doesn't declare, ``Flow.read`` reads what earlier versions
wrote and gives None (a stale flow) for anything forged or ill-typed."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

import pytest

from bot.services.chat_state import PendingInput
from handlers.flow_data import (
    BroadcastStep,
    EventStep,
    GroupDraft,
    IdeaDraft,
    IdeaMerge,
    NoticeDraft,
    SignupNote,
    TranslationDraft,
    VersionStep,
)
from handlers.flows import BROADCAST, EVENT, FLOWS, GROUP, IDEA, IDEA_MERGE, SIGNUP_NOTE, Flow

#: Data each flow may carry at every one of its steps (every field set).
FULL: dict[str, Any] = {
    "broadcast": BroadcastStep(7, locale="uk", day="tue"),
    "signup_note": SignupNote(3, adults=2, children=1, flags=5, note="Ich bringe Kuchen mit"),
    "group": GroupDraft(
        kind="project",
        name="Hochbeete",
        description="Wir bauen Beete im Hof.",
        topic="environment",
        rhythm="dienstags 17 Uhr",
        id=4,
        label="Gießen",
        slot=9,
    ),
    "idea": IdeaDraft(
        text="Eine Bank an der Haltestelle",
        voice="AwACAgIAAxkBAAIB",
        photo="AgACAgIAAxkBAAIC",
        topic="environment",
        place="Haltestelle Hof",
        latitude=52.52,
        longitude=13.405,
        anonymous=True,
    ),
    "idea_admin": IdeaMerge(12),
    "event": EventStep(5),
    "version": VersionStep("group", 4, "uk", slot=8),
    "task_edit": TranslationDraft(9, description="Birlikte oynuyoruz."),
    "translate": TranslationDraft(
        9, title="Masa tenisi", name="Bahçe", description="Birlikte oynuyoruz.", rhythm="salı"
    ),
    "notice": NoticeDraft(3, "ar", '{"de": "Wir speichern …"}'),
}


def flow_ids(flow: Flow[Any]) -> str:
    return flow.name


def test_every_flow_has_full_sample_data() -> None:
    assert set(FULL) == set(FLOWS)
    assert all(type(FULL[name]) is flow.data for name, flow in FLOWS.items())


@pytest.mark.parametrize("flow", FLOWS.values(), ids=flow_ids)
def test_every_flow_waits_for_taps_and_requires_fields_only_at_its_own_steps(
    flow: Flow[Any],
) -> None:
    assert flow.steps
    assert flow.tap_steps <= flow.steps
    assert set(flow.requires) <= flow.steps


def test_the_flows_are_declared_with_the_steps_their_handlers_use() -> None:
    assert BROADCAST.steps == {"text", "photo", "when", "weekly_time"}
    assert SIGNUP_NOTE.steps == {"note", "check"}
    assert GROUP.steps == {
        *("name", "description", "topic", "rhythm"),
        *("outcome", "slot_label", "slot_capacity"),
        *("edit_name", "edit_description", "edit_rhythm", "edit_label", "edit_capacity"),
    }
    assert IDEA.steps == {"content", "topic", "place", "anon", "confirm"}
    assert IDEA.tap_steps == {"topic", "anon", "confirm"}
    assert IDEA_MERGE.steps == {"merge"}
    assert EVENT.steps == {
        *("title", "description", "when", "until", "place", "address", "capacity"),
        *("topic", "photo", "publish_at", "checkin", "move", "new_place", "dup"),
        *("reminder", "opens", "closes"),
    }


@dataclass
class Mutable:
    id: int


@dataclass(frozen=True)
class Listed:
    ids: list[int]


@pytest.mark.parametrize(
    "declare",
    [
        lambda: Flow("x", EventStep, frozenset({"a"}), tap_steps=frozenset({"b"})),
        lambda: Flow("x", EventStep, frozenset({"a"}), requires={"b": frozenset({"id"})}),
        lambda: Flow("x", EventStep, frozenset({"a"}), requires={"a": frozenset({"name"})}),
        lambda: Flow("x", Mutable, frozenset({"a"})),
        lambda: Flow("x", Listed, frozenset({"a"})),
    ],
    ids=["tap step", "requires at a step", "requires a field", "mutable data", "a list field"],
)
def test_a_flow_declared_wrong_fails_at_once(declare: Any) -> None:
    with pytest.raises(ValueError):
        declare()


@pytest.mark.parametrize("flow", FLOWS.values(), ids=flow_ids)
def test_a_round_trip_through_json_gives_the_same_data(flow: Flow[Any]) -> None:
    data = FULL[flow.name]
    for step in flow.steps:
        pending = flow.at(step, data)
        assert (pending.flow, pending.step) == (flow.name, step)
        stored = json.loads(json.dumps(pending.data))  # as the JSON column gives it back
        assert flow.read(PendingInput(flow.name, step, stored)) == data


def test_a_round_trip_keeps_unset_fields_unset() -> None:
    draft = IdeaDraft(text="Trinkbrunnen", topic=None)
    assert IDEA.read(IDEA.at("place", draft)) == draft
    assert GROUP.read(GROUP.at("name", GroupDraft(kind="group"))) == GroupDraft(kind="group")


@pytest.mark.parametrize("flow", FLOWS.values(), ids=flow_ids)
def test_the_builder_refuses_a_step_the_flow_does_not_declare(flow: Flow[Any]) -> None:
    others = {step for other in FLOWS.values() for step in other.steps} - flow.steps
    for step in ("", "nope", *sorted(others)):
        with pytest.raises(ValueError):
            flow.at(step, FULL[flow.name])


@pytest.mark.parametrize("flow", FLOWS.values(), ids=flow_ids)
def test_the_builder_refuses_another_flows_data(flow: Flow[Any]) -> None:
    step = sorted(flow.steps)[0]
    for data in FULL.values():
        if type(data) is not flow.data:
            with pytest.raises(ValueError):
                flow.at(step, data)
    with pytest.raises(ValueError):
        flow.at(step, {"id": 5})


@pytest.mark.parametrize(
    ("flow", "step", "data"),
    [
        (EVENT, "title", EventStep("5")),  # type: ignore[arg-type]
        (EVENT, "title", EventStep(None)),  # type: ignore[arg-type]
        (SIGNUP_NOTE, "note", SignupNote(3, True, 0, 0)),
        (SIGNUP_NOTE, "check", SignupNote(3, 1, 0, 0)),  # the check waits with the note typed
        (BROADCAST, "text", BroadcastStep(7)),  # the version's language is required there
        (BROADCAST, "weekly_time", BroadcastStep(7, locale="de")),
        (GROUP, "rhythm", GroupDraft(kind="project")),
        (GROUP, "slot_capacity", GroupDraft(id=4)),
        (GROUP, "edit_rhythm", GroupDraft(kind="project")),  # which group?
        (GROUP, "edit_capacity", GroupDraft(id=4)),  # which help task?
        (IDEA, "place", IdeaDraft(latitude="52.5")),  # type: ignore[arg-type]
        (IDEA, "confirm", IdeaDraft(text="Bank")),  # not yet asked whether anonymous
    ],
)
def test_the_builder_refuses_ill_typed_or_missing_values(
    flow: Flow[Any], step: str, data: Any
) -> None:
    with pytest.raises(ValueError):
        flow.at(step, data)


def test_the_stored_rows_keep_the_keys_earlier_versions_wrote() -> None:
    assert EVENT.at("title", EventStep(5)).data == {"id": 5}
    broadcast = BroadcastStep(7)
    assert BROADCAST.at("text", replace(broadcast, locale="uk")).data == {"id": 7, "locale": "uk"}
    assert BROADCAST.at("photo", broadcast).data == {"id": 7}
    assert BROADCAST.at("weekly_time", replace(broadcast, day="tue")).data == {
        "id": 7,
        "day": "tue",
    }
    assert SIGNUP_NOTE.at("note", SignupNote(3, 2, 1, 0)).data == {
        "id": 3,
        "adults": 2,
        "children": 1,
        "flags": 0,
    }
    assert SIGNUP_NOTE.at("check", SignupNote(3, 2, 1, 0, "Kuchen")).data == {
        "id": 3,
        "adults": 2,
        "children": 1,
        "flags": 0,
        "note": "Kuchen",
    }
    assert GROUP.at("name", GroupDraft(kind="project")).data == {"kind": "project"}
    assert GROUP.at("outcome", GroupDraft(id=4)).data == {"id": 4}
    assert IDEA.at("content", IdeaDraft()).data == {}
    assert IDEA_MERGE.at("merge", IdeaMerge(12)).data == {"id": 12}


@pytest.mark.parametrize(
    ("pending", "expected"),
    [
        (PendingInput("event", "capacity", {"id": 5}), EventStep(5)),
        (PendingInput("event", "capacity", {"id": 5, "added_later": [1]}), EventStep(5)),
        (  # a skipped topic was stored as null
            PendingInput(
                "group",
                "rhythm",
                {"kind": "project", "name": "Hof", "description": "Beete", "topic": None},
            ),
            GroupDraft(kind="project", name="Hof", description="Beete"),
        ),
        (  # a whole-number latitude may come back without its ".0"
            PendingInput(
                "idea",
                "confirm",
                {
                    "text": "Bank",
                    "topic": None,
                    "latitude": 52,
                    "longitude": 13.4,
                    "anonymous": False,
                },
            ),
            IdeaDraft(text="Bank", latitude=52.0, longitude=13.4, anonymous=False),
        ),
        (
            PendingInput("broadcast", "text", {"id": 7, "locale": "ar"}),
            BroadcastStep(7, locale="ar"),
        ),
    ],
)
def test_rows_written_by_earlier_versions_read(pending: PendingInput, expected: Any) -> None:
    data = FLOWS[pending.flow].read(pending)
    assert data == expected
    assert type(data) is type(expected)


@pytest.mark.parametrize(
    "pending",
    [
        PendingInput("event", "title", {"id": "x"}),
        PendingInput("event", "title", {"id": "5"}),
        PendingInput("event", "title", {"id": True}),
        PendingInput("event", "title", {"id": 5.5}),
        PendingInput("event", "title", {"id": None}),
        PendingInput("event", "title", {}),
        PendingInput("event", "title", ["id", 5]),  # type: ignore[arg-type]
        PendingInput("event", "retitle", {"id": 5}),  # a step the flow doesn't declare
        PendingInput("broadcast", "text", {"id": 7}),
        PendingInput("broadcast", "weekly_time", {"id": 7, "day": 2}),
        PendingInput("signup_note", "note", {"id": 3, "adults": 1}),
        PendingInput("signup_note", "note", {"id": 3, "adults": "2", "children": 0, "flags": 0}),
        PendingInput("group", "rhythm", {"kind": "project"}),
        PendingInput("group", "outcome", {"id": "4"}),
        PendingInput("group", "slot_capacity", {"id": 4}),
        PendingInput("idea", "content", {"text": ["Bank"]}),
        PendingInput("idea", "place", {"latitude": "52.5"}),
        PendingInput("idea", "confirm", {"text": "Bank", "anonymous": "yes"}),
        PendingInput("idea", "confirm", {"text": "Bank"}),
        PendingInput("idea_admin", "merge", {"id": {"$gt": 0}}),
    ],
    ids=lambda pending: f"{pending.flow}:{pending.step}:{pending.data}",
)
def test_a_forged_or_ill_typed_row_reads_as_stale(pending: PendingInput) -> None:
    assert FLOWS[pending.flow].read(pending) is None


def test_a_flow_does_not_read_another_flows_row() -> None:
    assert EVENT.read(PendingInput("broadcast", "photo", {"id": 5})) is None
    assert IDEA_MERGE.read(PendingInput("event", "title", {"id": 5})) is None
