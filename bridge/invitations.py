"""Invitations from XMPP into a network's rooms: XEP-0045 mediated and XEP-0249 direct.

Both become one :class:`InviteContact`; only the network's own people can be invited, since
the network knows nobody else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from slixmpp import JID
from slixmpp.stanza import Message
from slixmpp.xmlstream import StanzaBase

from bridge.addressing import AddressError, ContactAddress, RoomAddress
from bridge.errors import BadRequest, XmppError
from bridge.events import InviteContact
from bridge.muc.ports import SessionAccess
from bridge.replies import error_reply, failure_reply
from bridge.routing import ContactPlace, Place, RoomPlace

NS_MUC_USER = "http://jabber.org/protocol/muc#user"
NS_CONFERENCE = "jabber:x:conference"


@dataclass(frozen=True, slots=True)
class Invitation:
    """One invitation as the client wrote it: who (or which room) and why."""

    jid: str
    reason: str


def mediated_invitations(message: Message) -> list[Invitation]:
    """The <invite to=.../> items of a message to a room (empty when it invites nobody)."""
    x = message.xml.find(f"{{{NS_MUC_USER}}}x")
    if x is None:
        return []
    return [
        Invitation(invite.get("to") or "", invite.findtext(f"{{{NS_MUC_USER}}}reason") or "")
        for invite in x.findall(f"{{{NS_MUC_USER}}}invite")
    ]


def direct_invitation(message: Message) -> Invitation | None:
    """The XEP-0249 <x xmlns='jabber:x:conference' jid=room/> of a message, if any."""
    x = message.xml.find(f"{{{NS_CONFERENCE}}}x")
    if x is None:
        return None
    return Invitation(x.get("jid") or "", x.get("reason") or "")


class Invitations:
    """Turns invitation stanzas into :class:`InviteContact` on the user's session."""

    def __init__(
        self,
        *,
        domain: str,
        network: str,
        locate: Callable[[JID], Place],
        in_room: Callable[[str, RoomAddress], list[str]],
        sessions: SessionAccess,
        send: Callable[[StanzaBase], None],
    ) -> None:
        self._domain = domain
        self._network = network
        self._locate = locate
        self._in_room = in_room
        self._sessions = sessions
        self._send = send

    async def on_mediated(self, message: Message, room: RoomAddress) -> None:
        """A message to the room carrying invites: the sender must be in the room."""
        sender: JID = message["from"]
        if str(sender) not in self._in_room(sender.bare, room):
            text = "Join the room before inviting people into it."
            self._send(error_reply(message, XmppError("cancel", "not-acceptable"), text))
            return
        for invitation in mediated_invitations(message):
            contact = self._contact_of(invitation.jid)
            if contact is None:
                self._refuse(message, invitation.jid, "person")
                return
            if not await self._invite(message, InviteContact(room, contact, invitation.reason)):
                return

    async def on_direct(self, message: Message, contact: ContactAddress) -> None:
        """A XEP-0249 invitation sent to a contact: the room must be one of this gateway's."""
        invitation = direct_invitation(message)
        assert invitation is not None
        room = self._room_of(invitation.jid)
        if room is None:
            self._refuse(message, invitation.jid, "room")
            return
        await self._invite(message, InviteContact(room, contact, invitation.reason))

    def _contact_of(self, jid: str) -> ContactAddress | None:
        place = self._place_of(jid)
        return place.contact if isinstance(place, ContactPlace) else None

    def _room_of(self, jid: str) -> RoomAddress | None:
        place = self._place_of(jid)
        return place.room if isinstance(place, RoomPlace) and place.nick is None else None

    def _place_of(self, jid: str) -> Place | None:
        """What a JID names on this gateway; None for another domain or a malformed JID."""
        try:
            parsed = JID(jid)
            return self._locate(parsed) if parsed.domain == self._domain else None
        except (AddressError, ValueError):
            return None

    def _refuse(self, message: Message, jid: str, what: str) -> None:
        error = BadRequest(
            f"'{jid}' is not a {self._network} {what} on {self._domain}: only this "
            f"network's people can be invited, into this network's rooms."
        )
        self._send(failure_reply(message, error))

    async def _invite(self, message: Message, action: InviteContact) -> bool:
        try:
            session = await self._sessions.session_for(message["from"].bare)
            await session.apply(action)
        except Exception as error:
            self._send(failure_reply(message, error))
            return False
        return True
