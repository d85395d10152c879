"""The delivery engine: every message that goes to many chats goes through here.

``DeliveryService.enqueue`` writes a durable outbox; ``DeliveryEngine`` workers claim due rows
in the database, send them through a ``Sender`` at the configured rate and write the results
back in batches. One module each:

- ``outbox``: ``DeliveryService`` (enqueue, cancel, progress, held rows), ``Recipient``,
  ``Held`` and the table handles the engine shares;
- ``engine``: ``DeliveryEngine`` (claiming under leases, heartbeat, rates, batched results,
  finished sources), ``DeliveryLimits`` and ``EngineStats``;
- ``observing``: ``DeliveryObserver``, what the outbox and engine tell the metrics;
- ``sending``: the ``Sender`` protocol and the errors a sender raises (``RateLimited``,
  ``RecipientGone``, ``PermanentFailure``, ``TransientFailure``, ``UnconfirmedSend``), which
  ``bot/delivery_sender.py`` implements for Telegram.
"""

from storage.models import DeliveryState

from .engine import DeliveryEngine, DeliveryLimits, EngineStats
from .observing import DeliveryObserver
from .outbox import DeliveryService, Depth, Held, Recipient
from .sending import (
    DeliveryError,
    PermanentFailure,
    RateLimited,
    RecipientGone,
    Sender,
    TransientFailure,
    UnconfirmedSend,
)

__all__ = [
    "DeliveryEngine",
    "DeliveryError",
    "DeliveryLimits",
    "DeliveryObserver",
    "DeliveryService",
    "DeliveryState",
    "Depth",
    "EngineStats",
    "Held",
    "PermanentFailure",
    "RateLimited",
    "Recipient",
    "RecipientGone",
    "Sender",
    "TransientFailure",
    "UnconfirmedSend",
]
