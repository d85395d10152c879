"""The environment is exactly the lock: what `make install` put in the venv is what was reviewed.

A venv built by hand, or a lock edited without `make upgrade`, shows up here as a difference
instead of as a surprise on a fresh machine.
"""

from __future__ import annotations

import re
from importlib.metadata import distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)
#: The installer that comes with Python's venv, and the project itself (an editable install).
NOT_LOCKED = {"pip", "quartierbot"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: str) -> dict[str, str]:
    text = (ROOT / lock).read_text(encoding="utf-8")
    return {canonical(name): version for name, version in PIN.findall(text)}


def test_every_locked_pin_has_hashes() -> None:
    for lock in ("requirements.lock", "requirements-runtime.lock"):
        text = (ROOT / lock).read_text(encoding="utf-8")
        blocks = re.split(r"\n(?=[A-Za-z0-9])", text)  # one block per pin
        unhashed = [b.split()[0] for b in blocks if PIN.match(b) and "--hash=sha256:" not in b]
        assert unhashed == [], f"{lock}: pins without hashes: {unhashed}"


def test_the_runtime_lock_agrees_with_the_development_lock() -> None:
    runtime, development = pins("requirements-runtime.lock"), pins("requirements.lock")
    assert runtime, "no pins found in requirements-runtime.lock"
    differing = {
        name: (version, development.get(name))
        for name, version in runtime.items()
        if development.get(name) != version
    }
    assert differing == {}, "run `make upgrade`: the two locks were resolved apart"


def test_the_installed_packages_are_exactly_the_lock() -> None:
    locked = pins("requirements.lock")
    installed = {
        canonical(dist.metadata["Name"]): dist.version
        for dist in distributions()
        if canonical(dist.metadata["Name"]) not in NOT_LOCKED
    }
    missing = sorted(set(locked) - set(installed))
    extra = sorted(set(installed) - set(locked))
    moved = sorted(
        f"{name} {installed[name]} (lock: {locked[name]})"
        for name in set(locked) & set(installed)
        if installed[name] != locked[name]
    )
    assert (missing, extra, moved) == ([], [], []), (
        "the venv differs from requirements.lock; `make clean test` rebuilds it"
    )
