"""When a message counts as delayed (XEP-0203): said well before it reaches the user.

Networks stamp live messages too (IRCv3 server-time); a delay element on those would
make clients show every line as history, so only clearly late ones get it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

LATE_AFTER = timedelta(seconds=10)


def is_late(when: datetime | None, now: datetime | None = None) -> bool:
    if when is None:
        return False
    stamp = when if when.tzinfo else when.replace(tzinfo=UTC)
    return (now or datetime.now(UTC)) - stamp > LATE_AFTER
