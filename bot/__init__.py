"""chatcaddy: a caddy for Twitter/X chats. It does the legwork; a person makes every shot."""

__version__ = "0.1.0"
