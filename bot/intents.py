"""X Web Intents: what the API may not do, a person does in one click in X's own composer."""

from __future__ import annotations

from urllib.parse import urlencode

BASE = "https://x.com/intent"


def reply_intent(text: str, in_reply_to: str) -> str:
    return f"{BASE}/post?{urlencode({'text': text, 'in_reply_to': in_reply_to})}"


def share_intent(text: str, post_url: str) -> str:
    """A post with a link to another post (what a quote-post becomes without API access)."""
    return f"{BASE}/post?{urlencode({'text': text, 'url': post_url})}"


def post_intent(text: str) -> str:
    return f"{BASE}/post?{urlencode({'text': text})}"


def like_intent(tweet_id: str) -> str:
    return f"{BASE}/like?{urlencode({'tweet_id': tweet_id})}"


def repost_intent(tweet_id: str) -> str:
    return f"{BASE}/retweet?{urlencode({'tweet_id': tweet_id})}"


def follow_intent(screen_name: str) -> str:
    return f"{BASE}/follow?{urlencode({'screen_name': screen_name.lstrip('@')})}"
