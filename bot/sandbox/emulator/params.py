"""Reading Bot API parameters the way Telegram does: strings, numbers, booleans or JSON."""

from __future__ import annotations

import json
import math
from typing import Any

from .models import _bad, _Upload


def _is_empty(value: Any) -> bool:
    return value is None or value == ""


def _get_int(params: dict[str, Any], name: str, *, required: bool = False) -> int | None:
    value: Any = params.get(name)
    if _is_empty(value):
        if required:
            raise _bad(f"{name} is empty")
        return None
    if isinstance(value, bool):
        raise _bad(f"invalid {name} specified")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _bad(f"invalid {name} specified") from None


def _get_float(params: dict[str, Any], name: str) -> float:
    value: Any = params.get(name)
    if _is_empty(value):
        raise _bad(f"{name} is empty")
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise _bad(f"invalid {name} specified") from None
    if not math.isfinite(result):
        raise _bad(f"invalid {name} specified")
    return result


def _get_bool(params: dict[str, Any], name: str) -> bool:
    value = params.get(name)
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def _get_str(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, (dict, list, _Upload)):
        raise _bad(f"invalid {name} specified")
    return str(value)


def _get_json(params: dict[str, Any], name: str, what: str | None = None) -> Any:
    value = params.get(name)
    if _is_empty(value):
        return None
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise _bad(f"can't parse {what or name} JSON object") from None
    return value
