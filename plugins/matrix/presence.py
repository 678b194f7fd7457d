"""Presence between Matrix people and XMPP contacts, and the user's own presence.

Synapse sends the presence of everyone who shares a room with the user in each /sync (when
the homeserver has presence on), so watching a contact needs no request: the session only
passes on the presence of people the user has as contacts (added to the roster, or a
direct chat). Matrix "unavailable" means idle, which XMPP calls away.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import quote

from bridge.addressing import AddressError, ContactAddress
from bridge.errors import NotSupported
from bridge.events import ContactPresence, SetPresence, Show, WatchContact
from bridge.network import EventSink
from plugins.matrix.addresses import contact_of, user_id_of
from plugins.matrix.sync_loop import MatrixApi, MatrixHttpError, RawEvent

PRESENCE_TYPE = "m.presence"
_SHOWS = {"online": Show.AVAILABLE, "unavailable": Show.AWAY, "offline": Show.OFFLINE}
_STATES = {Show.AVAILABLE: "online", Show.CHAT: "online", Show.OFFLINE: "offline"}
"""XMPP show → Matrix presence; away, xa and dnd are all "unavailable"."""


def contact_presence(event: RawEvent) -> ContactPresence | None:
    """The ContactPresence an ``m.presence`` event says, or None when it says none."""
    content, sender = event.get("content"), event.get("sender")
    if event.get("type") != PRESENCE_TYPE or not isinstance(content, dict):
        return None
    show = _SHOWS.get(str(content.get("presence")))
    if show is None or not isinstance(sender, str):
        return None
    try:
        contact = contact_of(sender)
    except AddressError:
        return None
    status = content.get("status_msg")
    return ContactPresence(contact, show, status if isinstance(status, str) else "")


class PresenceRelay:
    """One session's presence: the contacts' to the core, the user's to the homeserver."""

    def __init__(
        self, api: MatrixApi, user_id: str, emit: EventSink, is_direct: Callable[[str], bool]
    ) -> None:
        self._api = api
        self._user_id = user_id
        self._emit = emit
        self._is_direct = is_direct
        self._watched: set[ContactAddress] = set()
        self.own = "online"
        """The user's Matrix presence as last set (online until the core says otherwise),
        for the sync loop's ``set_presence``."""

    def watch(self, action: WatchContact) -> None:
        if action.watch:
            self._watched.add(action.contact)
        else:
            self._watched.discard(action.contact)

    def take(self, events: Iterable[RawEvent]) -> None:
        for event in events:
            presence = contact_presence(event)
            if presence is None or user_id_of(presence.contact) == self._user_id:
                continue
            if presence.contact in self._watched or self._is_direct(user_id_of(presence.contact)):
                self._emit(presence)

    async def set_own(self, action: SetPresence) -> None:
        state = _STATES.get(action.show, "unavailable")
        self.own = state  # the next syncs keep it, even if the PUT fails
        body = {"presence": state, "status_msg": action.status}
        path = f"/presence/{quote(self._user_id, safe='')}/status"
        try:
            await self._api.request("PUT", path, body=body)
        except MatrixHttpError as error:
            raise NotSupported(f"The homeserver did not take your presence: {error}") from None
