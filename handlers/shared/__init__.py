"""Screens that more than one feature opens: each feature's own entry screens, kept here so
that the features depend on this package rather than on one another.

Feature modules (``handlers/menu.py``, ``onboarding.py``, ``settings.py``, ``events.py``,
``newevent.py``, ``groups.py``, ``ideas.py``, ``broadcast/``) import from here, from
``render``, ``keyboards``, ``flows``, ``callbacks`` and ``deeplinks``, and from ``bot``; never
from each other. The modules here import only ``render``, ``keyboards`` and ``bot``: never a
feature, nor each other.

- ``home``: the main menu, the privacy notice and the topic picker (onboarding, /settings).
- ``events``: the event list, an event's details, "my sign-ups", and the words for a party.
- ``groups``: the list of projects and groups, and a group's page.
- ``ideas``: the ideas' entry screen.
- ``composer``: the broadcast composer, which groups, ideas and events open with an audience.
- ``newevent``: the first step of the event composer ("plan a meeting" of a group opens it).
"""
