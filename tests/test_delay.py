"""Which legacy timestamps make a message "delayed" (XEP-0203) for XMPP clients."""

from datetime import UTC, datetime, timedelta

from bridge.delay import is_late

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_live_server_time_is_not_a_delay() -> None:
    assert not is_late(NOW - timedelta(seconds=2), NOW)
    assert not is_late(None, NOW)


def test_history_is_a_delay_with_or_without_a_timezone() -> None:
    assert is_late(NOW - timedelta(minutes=5), NOW)
    assert is_late((NOW - timedelta(hours=1)).replace(tzinfo=None), NOW)
