"""Ports for servers a test starts itself."""

from __future__ import annotations

import socket


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on now. The bot's links and webhook name its port (``HTTP_PORT``),
    so it must be known before the server starts: port 0 would make links to ``:0``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
