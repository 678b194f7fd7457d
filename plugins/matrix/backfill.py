"""A room's timeline at the first sync, handed to the core as history rather than live.

The first sync of a new login brings each joined room's recent messages; said before the
gateway followed the room, they belong in the user's archive (MAM, history on joining),
not in the user's clients as if just said.
"""

from __future__ import annotations

import dataclasses

from bridge.addressing import AddressError, RoomAddress
from bridge.events import HistoryIn, MessageIn
from plugins.matrix.addresses import address_of_room
from plugins.matrix.room_state import state_text
from plugins.matrix.sync_loop import RoomUpdate
from plugins.matrix.translate import RoomContext, translate


def listed_address(update: RoomUpdate) -> RoomAddress | None:
    """The room's address as the user is offered it: its canonical alias, else its id."""
    alias = state_text(update.state, "m.room.canonical_alias", "alias")
    try:
        return address_of_room(alias or update.room_id)
    except AddressError:
        return None


def history_of(update: RoomUpdate, context: RoomContext) -> HistoryIn | None:
    """The messages of the room's timeline as its history; None for direct chats or none."""
    address = listed_address(update)
    if context.direct is not None or address is None:
        return None
    messages = tuple(
        dataclasses.replace(event, source=address)
        for raw in update.timeline
        for event in translate(raw, context).events
        if isinstance(event, MessageIn)
    )
    return HistoryIn(address, messages) if messages else None
