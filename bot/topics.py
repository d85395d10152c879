"""Topics a resident can follow. Keys are stored; labels are translated when shown."""

from __future__ import annotations

from bot.i18n import N_

#: Every topic the code knows, with its label (msgid) and an emoji for buttons.
#: ``TOPICS`` in the settings picks which of these a neighbourhood offers, in which order.
TOPIC_LABELS: dict[str, tuple[str, str]] = {
    "children": ("🧒", N_("Children and youth")),
    "intercultural": ("🤝", N_("Intercultural exchange")),
    "environment": ("🌳", N_("Environment and green spaces")),
    "housing": ("🏘", N_("Housing and living together")),
    "culture_sport": ("⚽", N_("Culture and sport")),
    "seniors": ("🧓", N_("Seniors")),
    "education": ("📚", N_("Learning and language courses")),
    "health": ("🩺", N_("Health")),
    "work": ("💼", N_("Work and career")),
    "safety": ("🧹", N_("Cleanliness and safety")),
}
