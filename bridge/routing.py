"""Where a stanza addressed under the gateway domain points."""

from __future__ import annotations

from dataclasses import dataclass

from slixmpp import JID

from bridge.addressing import (
    AddressError,
    ContactAddress,
    Grammar,
    RoomAddress,
    ServerAddress,
)


@dataclass(frozen=True, slots=True)
class GatewayPlace:
    """The gateway itself (``gw``), or in fixed-server mode also its only server."""


@dataclass(frozen=True, slots=True)
class ServerPlace:
    server: ServerAddress


@dataclass(frozen=True, slots=True)
class RoomPlace:
    room: RoomAddress
    nick: str | None = None


@dataclass(frozen=True, slots=True)
class ContactPlace:
    contact: ContactAddress


Place = GatewayPlace | ServerPlace | RoomPlace | ContactPlace


def locate(jid: JID, grammar: Grammar) -> Place:
    """Read *jid* (already known to be under the gateway domain); raises AddressError."""
    if not jid.user:
        return GatewayPlace()
    address = grammar.parse(jid.user)
    if isinstance(address, ServerAddress):
        return ServerPlace(address)
    if isinstance(address, RoomAddress):
        return RoomPlace(address, jid.resource or None)
    if jid.resource:
        raise AddressError(f"'{jid.user}' is a person, not a room: it has no occupants")
    return ContactPlace(address)
