"""The user's Matrix direct chats (``m.direct``): which rooms are chats with a contact.

Direct chats are no rooms to XMPP: their messages come from the contact. The list lives in
the user's account data, so that other Matrix clients agree on it; invitations to direct
chats are accepted and added to it, invitations to other rooms are told to the user.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from aiohttp import ClientError
from nio import JoinResponse, RoomCreateResponse

from bridge.addressing import AddressError, ContactAddress
from bridge.errors import LegacyError, NoSuchContact
from bridge.events import ContactListed, MessageIn
from bridge.network import EventSink
from plugins.matrix.actions import failure
from plugins.matrix.addresses import contact_of, user_id_of
from plugins.matrix.room_state import state_text
from plugins.matrix.sync_loop import MatrixApi, MatrixHttpError, RawEvent

log = logging.getLogger(__name__)

DIRECT_TYPE = "m.direct"


class DirectChats:
    """Our m.direct account data: a Matrix user id → their direct chat rooms."""

    def __init__(self, client: Any, api: MatrixApi, user_id: str, emit: EventSink) -> None:
        self._client = client
        self._api = api
        self._user_id = user_id
        self._emit = emit
        self._rooms: dict[str, list[str]] = {}

    def __contains__(self, user_id: str) -> bool:
        return user_id in self._rooms

    async def load(self) -> None:
        try:
            content = await self._api.request("GET", self._path())
        except (MatrixHttpError, ClientError, TimeoutError) as error:  # none yet, or not now
            log.debug("no m.direct for %s: %s", self._user_id, error)
            return
        self.take(content)

    def _path(self) -> str:
        return f"/user/{self._user_id}/account_data/{DIRECT_TYPE}"

    def take(self, content: object) -> None:
        """The content of an ``m.direct`` event, from the sync or the account data."""
        if not isinstance(content, dict):
            return
        self._rooms = {
            user: [room for room in rooms if isinstance(room, str)]
            for user, rooms in content.items()
            if isinstance(user, str) and isinstance(rooms, list)
        }

    def contact_of_room(self, room_id: str) -> ContactAddress | None:
        """The contact *room_id* is a direct chat with, or None for a room."""
        for user_id, rooms in self._rooms.items():
            if room_id in rooms:
                try:
                    return contact_of(user_id)
                except AddressError:
                    return None
        return None

    def existing(self, contact: ContactAddress) -> str | None:
        """The room of the chat with *contact*, None when there is none yet."""
        rooms = self._rooms.get(user_id_of(contact))
        return rooms[-1] if rooms else None

    async def room_with(self, contact: ContactAddress) -> str:
        """The room of the chat with *contact*, created (and the contact offered) if new."""
        room_id = self.existing(contact)
        if room_id is not None:
            return room_id
        user_id = user_id_of(contact)
        answer = await self._client.room_create(is_direct=True, invite=[user_id])
        if not isinstance(answer, RoomCreateResponse):
            raise failure(answer, f"Could not open a chat with {user_id}", NoSuchContact)
        await self._remember(user_id, answer.room_id)
        self._emit(ContactListed(contact))
        return str(answer.room_id)

    async def _remember(self, user_id: str, room_id: str) -> None:
        rooms = self._rooms.setdefault(user_id, [])
        if room_id not in rooms:
            rooms.append(room_id)
        await self._api.request("PUT", self._path(), body=self._rooms)

    async def answer_invite(self, room_id: str, invite_state: Sequence[RawEvent]) -> None:
        """Accept invitations to direct chats; tell the user of the others (XEP-0249's way)."""
        own = next(
            (
                e
                for e in invite_state
                if e.get("type") == "m.room.member" and e.get("state_key") == self._user_id
            ),
            None,
        )
        content = own.get("content") if own is not None else None
        inviter = own.get("sender") if own is not None else None
        if not isinstance(content, dict) or not isinstance(inviter, str):
            return
        if content.get("is_direct") is not True:
            self._tell_invitation(inviter, room_id, invite_state)
            return
        try:
            answer = await self._client.join(room_id)
            if not isinstance(answer, JoinResponse):
                raise failure(answer, "joining refused")
            await self._remember(inviter, room_id)
            self._emit(ContactListed(contact_of(inviter)))  # a new contact, offered once
        except AddressError:
            pass
        except (LegacyError, MatrixHttpError, ClientError, TimeoutError) as error:
            log.info("could not accept %s's direct chat %s: %s", inviter, room_id, error)

    def _tell_invitation(
        self, inviter: str, room_id: str, invite_state: Sequence[RawEvent]
    ) -> None:
        try:
            contact = contact_of(inviter)
        except AddressError:
            return
        label = state_text(invite_state, "m.room.canonical_alias", "alias") or room_id
        name = state_text(invite_state, "m.room.name", "name")
        named = f" ({name})" if name else ""
        text = f"{inviter} invites you to {label}{named}: join {label} here to accept."
        self._emit(MessageIn(contact, text, notice=True))
