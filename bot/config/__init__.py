"""schedules.yaml: who the account is, how it behaves, and which chats it joins when.

`load_config(path)` returns a frozen `Config` or raises `bot.errors.ConfigError` listing every problem,
each as `file:line:column: field: what is wrong; what is allowed`.
"""

from bot.config.loader import load_config, parse_config
from bot.config.models import Account, Chat, Config, Policy, ReadMode, UnknownChatError, When
from bot.config.values import format_duration

__all__ = [
    "Account",
    "Chat",
    "Config",
    "Policy",
    "ReadMode",
    "UnknownChatError",
    "When",
    "format_duration",
    "load_config",
    "parse_config",
]
