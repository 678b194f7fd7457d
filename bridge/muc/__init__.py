"""XEP-0045 multi-user chat emulated over any plugin's rooms."""

from bridge.muc.ports import ArchivedMessage, RoomArchive, SessionAccess
from bridge.muc.service import MucService

__all__ = ["ArchivedMessage", "MucService", "RoomArchive", "SessionAccess"]
