"""Deterministic web-search results for the built-in `web_search` tool.

The platform returns, beside the answer, a list of `{title, content, link, media, icon, refer,
publish_date}`. The emulator makes them from the query (the tool's `search_query`, else the
user's message): the same request gets the same results, `count` of them, on the filtered
domain when `search_domain_filter` is set, dated within `search_recency_filter` of `created`,
with a longer `content` for `content_size: high`. Links point at `example.com`, a domain
reserved for examples, so nothing follows them anywhere real.
"""

from __future__ import annotations

import datetime
import hashlib
from typing import Any
from urllib.parse import urlsplit

from .tools import WebSearch

# The furthest back (in days) a result may be dated for each recency filter.
RECENCY_DAYS = {"oneDay": 1, "oneWeek": 7, "oneMonth": 30, "oneYear": 365, "noLimit": 3650}
_DEFAULT_DOMAIN = "www.example.com"


def search_results(search: WebSearch, topic: str, created: int) -> list[dict[str, Any]]:
    """`search.count` results for `search.query` (or `topic`), deterministic in all inputs."""
    query = " ".join((search.query or topic).split())
    domain = _domain(search.domain)
    digest = hashlib.sha256(f"{search.engine}\0{query}".encode()).hexdigest()[:16]
    today = datetime.datetime.fromtimestamp(created, datetime.UTC).date()
    window = RECENCY_DAYS[search.recency]
    results = []
    for number in range(1, search.count + 1):
        content = f"{query}: what the page numbered {number} says about it, in one sentence."
        if search.content_size == "high":
            content += " It goes on with more detail. It ends with a summary of the page."
        published = today - datetime.timedelta(days=(number * 37) % window)
        results.append(
            {
                "title": f"{query} — result {number}",
                "content": content,
                "link": f"https://{domain}/search/{digest}/{number}",
                "media": domain,
                "icon": f"https://{domain}/favicon.ico",
                "refer": f"ref_{number}",
                "publish_date": published.isoformat(),
            }
        )
    return results


def _domain(value: str | None) -> str:
    """The host of a domain filter (`www.sohu.com`, or a URL), else the example domain."""
    if not value:
        return _DEFAULT_DOMAIN
    try:
        host = urlsplit(value if "//" in value else f"//{value}").hostname
    except ValueError:  # not a host at all ("[::1"): the filter matches nothing known
        host = None
    return host or _DEFAULT_DOMAIN
