"""Quartierbot: a multilingual Telegram bot for neighbourhood management."""

__version__ = "0.1.0"
