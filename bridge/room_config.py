"""Per-user room settings: stay in the room (persistent) and keep its history.

Three ways in, one model: the ad-hoc `configure` command on the room JID, the XEP-0045
owner form (muc#owner), and the roster: subscribing to a room's JID makes it
persistent for that user, unsubscribing undoes it (channels in the roster).

When the network can rename rooms, the owner form also carries XEP-0045's
``muc#roomconfig_roomname``: a non-empty one is applied as :class:`RenameRoom` on the network
(the room's name for everyone there, not a per-user setting); an empty one changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field, create_model
from slixmpp.plugins.xep_0004 import Form
from slixmpp.plugins.xep_0045.stanza import MUCOwnerQuery
from slixmpp.stanza import Iq, Presence
from slixmpp.xmlstream import StanzaBase, register_stanza_plugin

from bridge.addressing import ContactAddress, Grammar, RoomAddress
from bridge.errors import BadRequest, XmppError
from bridge.events import RenameRoom
from bridge.forms import FormInvalid, form_from_model, model_from_form, read_submission
from bridge.muc.ports import SessionAccess
from bridge.network import CommandContext, NetworkCommand, UserStore, room_scope
from bridge.privileges import Privileges
from bridge.replies import error_reply, failure_reply
from bridge.room_memory import RoomMemory

ROOM_NAME_VAR = "muc#roomconfig_roomname"

register_stanza_plugin(Iq, MUCOwnerQuery)
register_stanza_plugin(MUCOwnerQuery, Form)


class RoomSettings(BaseModel):
    persistent: bool = Field(
        False,
        title="Persistent",
        description="Stay in the room while you are away; the gateway keeps its history.",
    )
    record_history: bool = Field(
        True, title="Record history", description="Keep the room's messages in your archive."
    )


def settings_model(extra: type[BaseModel] | None) -> type[RoomSettings]:
    """The core's room settings, with the network's own fields when it declares some."""
    if extra is None:
        return RoomSettings
    fields: dict[str, Any] = {
        name: (info.annotation, info) for name, info in extra.model_fields.items()
    }
    return create_model(f"{extra.__name__}AndCore", __base__=RoomSettings, **fields)


class RoomConfig:
    def __init__(
        self,
        *,
        grammar: Grammar,
        store_for: Callable[[str], UserStore],
        rooms: RoomMemory,
        send: Callable[[StanzaBase], None],
        privileges: Privileges,
        extra: type[BaseModel] | None = None,
        renames: SessionAccess | None = None,
    ) -> None:
        self.model = settings_model(extra)
        self._grammar = grammar
        self._store_for = store_for
        self._rooms = rooms
        self._send = send
        self._privileges = privileges
        self._renames = renames
        self._history_off: set[tuple[str, RoomAddress]] = set()

    def records(self, user: str, room: RoomAddress | ContactAddress) -> bool:
        return (user, room) not in self._history_off

    async def load(self, user: str, room: RoomAddress) -> RoomSettings:
        stored = await self._store_for(user).load(
            room_scope(self._grammar.format(room)), self.model
        )
        settings = stored or self.model(persistent=self._rooms.is_persistent(user, room))
        self._remember(user, room, settings)
        return settings

    async def save(self, user: str, room: RoomAddress, settings: RoomSettings) -> None:
        await self._store_for(user).save(room_scope(self._grammar.format(room)), settings)
        self._remember(user, room, settings)
        await self._rooms.set_persistent(user, room, settings.persistent)

    def _remember(self, user: str, room: RoomAddress, settings: RoomSettings) -> None:
        if settings.record_history:
            self._history_off.discard((user, room))
        else:
            self._history_off.add((user, room))

    # ------------------------------------------------------------------ the three ways in

    def command(self) -> NetworkCommand:
        async def prefill(context: CommandContext) -> BaseModel | None:
            return await self.load(context.user, _room(context))

        async def run(context: CommandContext, form: BaseModel) -> str:
            assert isinstance(form, RoomSettings)
            await self.save(context.user, _room(context), form)
            return "Saved."

        return NetworkCommand(
            node="configure",
            name="Configure this room for you",
            form=self.model,
            where="room",
            run=run,
            prefill=prefill,
        )

    async def on_owner_iq(self, iq: Iq, room: RoomAddress) -> None:
        user = iq["from"].bare
        if iq["type"] == "get":
            reply: Iq = iq.reply(clear=True)
            current = await self.load(user, room)
            title = f"Your settings for {room.name}"
            form = form_from_model(self.model, title=title, values=current)
            if self._renames is not None:
                form.add_field(var=ROOM_NAME_VAR, ftype="text-single", label="Room name")
            reply["mucowner_query"].append(form)
            self._send(reply)
            return
        submitted = iq["mucowner_query"]["form"]
        if submitted["type"] == "cancel" or not submitted.get_fields():
            self._send(iq.reply(clear=True))
            return
        values = read_submission(submitted)
        name = " ".join(values.pop(ROOM_NAME_VAR, [])).strip() if self._renames else ""
        try:
            settings = model_from_form(self.model, values)
        except FormInvalid as invalid:
            self._send(error_reply(iq, XmppError("modify", "not-acceptable"), str(invalid)))
            return
        if name and self._renames is not None:
            try:
                session = await self._renames.session_for(user)
                await session.apply(RenameRoom(room, name))
            except Exception as error:
                self._send(failure_reply(iq, error))
                return
        await self.save(user, room, settings)
        self._send(iq.reply(clear=True))

    async def on_subscription(self, presence: Presence, room: RoomAddress) -> None:
        """A room in the roster is a room the user wants to stay in, and to find in every
        client: with the server's privileges it goes into the user's bookmarks too."""
        user, subscribe = presence["from"].bare, presence["type"] == "subscribe"
        current = await self.load(user, room)
        await self.save(user, room, current.model_copy(update={"persistent": subscribe}))
        answer = Presence()
        answer["from"] = presence["to"].bare
        answer["to"] = user
        answer["type"] = "subscribed" if subscribe else "unsubscribed"
        self._send(answer)
        if subscribe:
            available = Presence()
            available["from"] = presence["to"].bare
            available["to"] = user
            self._send(available)
        room_jid = presence["to"].bare
        if not subscribe:
            await self._privileges.remove_bookmark(user, room_jid)
        elif self._privileges.writes_bookmarks(user):  # no invitation to a room just added
            await self._privileges.add_bookmark(user, room_jid, room.name, autojoin=True)


def _room(context: CommandContext) -> RoomAddress:
    if not isinstance(context.target, RoomAddress):
        raise BadRequest("Run this command on a room's JID.")
    return context.target
