"""Everything chatcaddy says to X goes through `XGateway` (the only code that imports tweepy)."""

from bot.x.gateway import XGateway
from bot.x.types import RateLimit, SearchPage, XPost, XRequestRecord, XUser

__all__ = ["RateLimit", "SearchPage", "XGateway", "XPost", "XRequestRecord", "XUser"]
