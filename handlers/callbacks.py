"""Callback data: one short, parseable string per button (Telegram allows 64 bytes).

Every callback handler matches one of these patterns; anything else (old buttons, forged data)
falls through to ``handlers.fallback.unknown_callback``. Values are validated again by the
handler, because a pattern match only says the shape is right.
"""

from __future__ import annotations

import re

# Deep link payloads, as in t.me/<bot>?start=event_42 (Telegram allows [A-Za-z0-9_-]{1,64}).
DEEP_LINK = r"(?:event|project|group|idea)_\d{1,10}"

LANGUAGE = re.compile(rf"^lang:(?P<locale>[a-z]{{2,3}})(?::(?P<link>{DEEP_LINK}))?$")
CONSENT = re.compile(
    rf"^consent:(?P<answer>yes|no):(?P<locale>[a-z]{{2,3}})(?::(?P<link>{DEEP_LINK}))?$"
)
TOPIC = re.compile(r"^topic:(?P<topic>[a-z_]{1,40})$")
TOPICS_DONE = re.compile(r"^topics:done$")
MENU = re.compile(r"^menu:(?P<entry>home|events|projects|idea|signups)$")
SETTINGS = re.compile(r"^set:(?P<entry>open|language|topics|news_on|news_off|privacy|quiet)$")
PRIVACY = re.compile(r"^privacy:(?P<step>ask|delete|keep)$")


def language(locale: str, link: str | None = None) -> str:
    return f"lang:{locale}:{link}" if link else f"lang:{locale}"


def consent(answer: str, locale: str, link: str | None = None) -> str:
    return f"consent:{answer}:{locale}:{link}" if link else f"consent:{answer}:{locale}"


def topic(key: str) -> str:
    return f"topic:{key}"


TOPICS_DONE_DATA = "topics:done"


def menu(entry: str) -> str:
    return f"menu:{entry}"


def settings(entry: str) -> str:
    return f"set:{entry}"


def privacy(step: str) -> str:
    return f"privacy:{step}"


# Broadcast composer: bc:<action>:<broadcast id>[:<argument>]
BROADCAST = re.compile(
    r"^bc:(?P<action>home|aud|al|at|ac|langs|text|rmv|photo|nophoto|prev|pv|urg|send|go|when"
    r"|week|wd|del|cancel|prog):(?P<id>\d{1,10})(?::(?P<arg>[a-z_]{1,40}))?$"
)


def broadcast(action: str, broadcast_id: int, argument: str | None = None) -> str:
    return f"bc:{action}:{broadcast_id}:{argument}" if argument else f"bc:{action}:{broadcast_id}"


# Resident settings added for broadcasts: quiet hours and the weekly digest.
QUIET = re.compile(r"^quiet:(?P<choice>off|\d{1,2}-\d{1,2})$")
DIGEST = re.compile(r"^digest:(?P<choice>on|off)$")


def quiet(choice: str) -> str:
    return f"quiet:{choice}"


def digest(choice: str) -> str:
    return f"digest:{choice}"


# Events (residents): ev:<action>:<event id>[:<args>]
EVENT = re.compile(
    r"^ev:(?P<action>show|join|ad|ch|nd|ok|wl|note|cx|cxy|still|ics|map)"
    r":(?P<id>\d{1,10})(?::(?P<args>[a-z0-9:_-]{1,40}))?$"
)
EVENT_LIST = re.compile(r"^evl:(?P<offset>\d{1,4}):(?P<filter>all|week|t_[a-z_]{1,30})$")


def event(action: str, event_id: int, *args: object) -> str:
    suffix = ":".join(str(arg) for arg in args)
    return f"ev:{action}:{event_id}:{suffix}" if suffix else f"ev:{action}:{event_id}"


def event_list(offset: int = 0, filter_: str = "all") -> str:
    return f"evl:{offset}:{filter_}"


# Events (coordinators): eva:<action>:<event id>[:<arg>]; the composer: evc:<action>:<id>[:<arg>]
EVENT_ADMIN = re.compile(
    r"^eva:(?P<action>menu|people|csv|checkin|move|place|dup|cancel|cancely|approve|reject|msg|msgw)"
    r":(?P<id>\d{1,10})$"
)
EVENT_COMPOSER = re.compile(
    r"^evc:(?P<action>skip|cap|topic|publish|later|draft|announce|ann|propose)"
    r":(?P<id>\d{1,10})(?::(?P<arg>[a-z0-9_]{1,40}))?$"
)


def event_admin(action: str, event_id: int) -> str:
    return f"eva:{action}:{event_id}"


def event_composer(action: str, event_id: int, argument: object | None = None) -> str:
    return (
        f"evc:{action}:{event_id}:{argument}"
        if argument is not None
        else f"evc:{action}:{event_id}"
    )


# Ideas. Submitting: idea:<step>:<value>; the board: idb:<offset>:<order>:<topic or all>;
# support and listen: ids:<id>, idv:<id>; coordinators' moderation: idm:<action>:<id>[:<arg>]
IDEA = re.compile(
    r"^idea:(?P<step>new|board|topic|place|anon|send|cancel):(?P<value>[a-z_0-9]{1,40})$"
)
IDEA_BOARD = re.compile(
    r"^idb:(?P<offset>\d{1,4}):(?P<order>supported|newest):(?P<topic>all|[a-z_]{1,30})$"
)
IDEA_SUPPORT = re.compile(r"^id(?P<action>s|v):(?P<id>\d{1,10})$")
IDEA_MODERATION = re.compile(
    r"^idm:(?P<action>pub|st|why|rs|merge|msg|proj):(?P<id>\d{1,10})(?::(?P<arg>[a-z_]{1,40}))?$"
)


def idea(step: str, value: object = "go") -> str:
    return f"idea:{step}:{value}"


def idea_board(offset: int = 0, order: str = "supported", topic: str = "all") -> str:
    return f"idb:{offset}:{order}:{topic}"


def idea_moderation(action: str, idea_id: int, argument: str | None = None) -> str:
    return f"idm:{action}:{idea_id}:{argument}" if argument else f"idm:{action}:{idea_id}"


# Projects and working groups: grp:<action>:<group id>[:<arg>]; the list: grl:<offset>:<topic>
GROUP = re.compile(
    r"^grp:(?P<action>show|join|leave|slot|unslot|members|msg|msgh|close|addslot|meet|mine)"
    r":(?P<id>\d{1,10})(?::(?P<arg>[a-z0-9_]{1,40}))?$"
)
GROUP_LIST = re.compile(r"^grl:(?P<offset>\d{1,4}):(?P<topic>all|mine|[a-z_]{1,30})$")
GROUP_NEW = re.compile(r"^grn:(?P<step>kind|topic|skip):(?P<value>[a-z_]{1,40})$")


def group(action: str, group_id: int, argument: object | None = None) -> str:
    return (
        f"grp:{action}:{group_id}:{argument}"
        if argument is not None
        else f"grp:{action}:{group_id}"
    )


def group_list(offset: int = 0, topic: str = "all") -> str:
    return f"grl:{offset}:{topic}"


def group_new(step: str, value: str) -> str:
    return f"grn:{step}:{value}"
