"""The bot's HTTP server: health, the Telegram webhook, and later the calendar and dashboard."""
