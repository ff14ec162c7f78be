"""The patterns the dashboard's live character counter needs, taken from the installed twitter-text.

`static/counter.js` counts like `bot.text.weighted_length`; what it cannot know by itself (which words are
URLs, given X's list of top-level domains, and which code point sequences are one emoji) it reads from
`/counter-rules.js`, generated here from the very regular expressions the server counts with.
"""

from __future__ import annotations

import json
import re
from functools import cache

from twitter_text.regexp.emoji import emoji
from twitter_text.regexp.extract_url import extract_url
from twitter_text.regexp.invalid_url_without_protocol_preceding_chars import (
    invalid_url_without_protocol_preceding_chars,
)
from twitter_text.regexp.valid_ascii_domain import valid_ascii_domain
from twitter_text.regexp.valid_tco_url import valid_tco_url

_PYTHON_ASTRAL_ESCAPE = re.compile(r"\\U([0-9a-fA-F]{8})")


def _js_unicode(pattern: str) -> str:
    """Python's `\\U0001F600` escapes as JavaScript's `\\u{1F600}` (a pattern compiled with the `u` flag)."""
    return _PYTHON_ASTRAL_ESCAPE.sub(lambda m: "\\u{" + format(int(m.group(1), 16), "X") + "}", pattern)


@cache
def counter_rules() -> dict[str, str]:
    """The JavaScript-ready patterns: URLs with their groups as twitter-text numbers them, emoji."""
    return {
        "url": extract_url.pattern,
        "asciiDomain": valid_ascii_domain.pattern,
        "tco": valid_tco_url.pattern,
        "invalidBefore": invalid_url_without_protocol_preceding_chars.pattern,
        "emoji": _js_unicode(emoji.pattern),
    }


@cache
def counter_rules_js() -> str:
    """The script served at /counter-rules.js."""
    return f"window.chatcaddyRules = {json.dumps(counter_rules(), ensure_ascii=True)};\n"
