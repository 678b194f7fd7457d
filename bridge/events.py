"""Typed, frozen events between the core and a network plugin.

Two directions, two unions: a plugin *emits* :data:`LegacyEvent` values (something
happened on the legacy network) and the core *applies* :data:`UserAction` values to a
plugin session (the XMPP user did something). Neither side sees the other's types:
no stanza here, no IRC line, no Matrix event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bridge.addressing import ContactAddress, RoomAddress, ServerAddress


class Role(StrEnum):
    """XEP-0045 roles, in the order of power."""

    NONE = "none"
    VISITOR = "visitor"
    PARTICIPANT = "participant"
    MODERATOR = "moderator"


class Affiliation(StrEnum):
    """XEP-0045 affiliations."""

    OUTCAST = "outcast"
    NONE = "none"
    MEMBER = "member"
    ADMIN = "admin"
    OWNER = "owner"


class Show(StrEnum):
    """Availability, as XMPP presence says it."""

    AVAILABLE = "available"
    CHAT = "chat"
    AWAY = "away"
    XA = "xa"
    DND = "dnd"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class Occupant:
    """Someone in a room, under the nick the room knows them by."""

    nick: str
    role: Role = Role.PARTICIPANT
    affiliation: Affiliation = Affiliation.NONE
    # The legacy identity behind the nick, for non-anonymous rooms (a real JID is made from it).
    contact: ContactAddress | None = None


# ----------------------------------------------------------------------------- legacy → core


@dataclass(frozen=True, slots=True)
class RoomJoined:
    """The user is in *room*: the full occupant list and the subject are known."""

    room: RoomAddress
    nick: str
    occupants: tuple[Occupant, ...]
    subject: str = ""
    subject_by: str | None = None
    own_role: Role = Role.PARTICIPANT
    own_affiliation: Affiliation = Affiliation.NONE


@dataclass(frozen=True, slots=True)
class JoinFailed:
    """A join the user asked for was refused; *error* is one of bridge.errors' exceptions."""

    room: RoomAddress
    error: Exception


@dataclass(frozen=True, slots=True)
class OccupantJoined:
    room: RoomAddress
    occupant: Occupant


@dataclass(frozen=True, slots=True)
class OccupantChanged:
    """Role or affiliation of an occupant changed (a mode change, a power level)."""

    room: RoomAddress
    occupant: Occupant
    actor: str | None = None


@dataclass(frozen=True, slots=True)
class OccupantLeft:
    room: RoomAddress
    nick: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class NickChanged:
    """*old* is now *new* in *room* (the user's own nick when old is the user's)."""

    room: RoomAddress
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class NickChangeFailed:
    """The user's request to be *nick* in *room* was refused (*error*: a bridge.errors one)."""

    room: RoomAddress
    nick: str
    error: Exception


@dataclass(frozen=True, slots=True)
class Kicked:
    room: RoomAddress
    nick: str
    actor: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RoomLeft:
    """The user is no longer in *room* for a reason of the network's (not a kick)."""

    room: RoomAddress
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SubjectChanged:
    room: RoomAddress
    subject: str
    by: str | None = None


@dataclass(frozen=True, slots=True)
class RoomAvatar:
    """*room*'s picture is the file *ref* (read like an :class:`Attachment`, through the
    session's :class:`~bridge.network.MediaSource`); None: the room has none."""

    room: RoomAddress
    ref: str | None


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with a message; *ref* is the network's own handle, given back to
    :meth:`bridge.network.MediaSource.open_media` when an XMPP client fetches it."""

    ref: str
    name: str = ""
    media_type: str = ""
    size: int | None = None


@dataclass(frozen=True, slots=True)
class MessageIn:
    """A message from the legacy side.

    *source* is a room (then *nick* says who spoke), a contact (a private message) or a
    server (a notice or numeric). ``own`` marks the user's own words seen from
    elsewhere (another client, a network echo of what the core has not sent).
    """

    source: RoomAddress | ContactAddress | ServerAddress
    body: str
    nick: str | None = None
    legacy_id: str | None = None
    when: datetime | None = None
    action: bool = False
    notice: bool = False
    own: bool = False
    # The id of the XMPP stanza this message answers when the network echoes the user's own.
    echo_of: str | None = None
    # Legacy id of the message this one corrects (the network edited it).
    replaces: str | None = None
    # Legacy id of the message this one answers.
    reply_to: str | None = None
    # Files sent with the message; *body* is then their caption (possibly empty).
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class HistoryIn:
    """Messages said in *room* before the gateway followed it (a first login's backfill):
    kept in the user's archive for MAM and history on join, never sent live."""

    room: RoomAddress
    messages: tuple[MessageIn, ...]


@dataclass(frozen=True, slots=True)
class ContactPresence:
    contact: ContactAddress
    show: Show
    status: str = ""


@dataclass(frozen=True, slots=True)
class Typing:
    source: RoomAddress | ContactAddress
    nick: str | None = None
    active: bool = True


@dataclass(frozen=True, slots=True)
class Reaction:
    """*nick*'s whole set of reactions to a message (an empty set takes them all back)."""

    source: RoomAddress | ContactAddress
    nick: str | None
    target_legacy_id: str
    emojis: tuple[str, ...]
    own: bool = False


@dataclass(frozen=True, slots=True)
class Retraction:
    """A message was removed; *by* names the moderator when it was not its author."""

    source: RoomAddress | ContactAddress
    nick: str | None
    target_legacy_id: str
    by: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Displayed:
    """*nick* has read up to the message *legacy_id* (a read marker)."""

    source: RoomAddress | ContactAddress
    nick: str | None
    legacy_id: str


@dataclass(frozen=True, slots=True)
class MessageSent:
    """The network gave the user's message *xmpp_id* its own id, *legacy_id*."""

    target: RoomAddress | ContactAddress | ServerAddress
    xmpp_id: str
    legacy_id: str


@dataclass(frozen=True, slots=True)
class RoomListed:
    """The user is in *room* on the network (joined from elsewhere, or before): offer it to
    their XMPP client once, as a bookmark with autojoin or an invitation."""

    room: RoomAddress
    name: str = ""


@dataclass(frozen=True, slots=True)
class ContactListed:
    """The user talks to *contact* on the network (a direct chat): put them in the roster once."""

    contact: ContactAddress
    name: str = ""


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The legacy link is gone; the plugin says whether it is trying again."""

    reason: str
    reconnecting: bool = True
    server: str | None = None


@dataclass(frozen=True, slots=True)
class Connected:
    """The legacy link (to *server*, where the network has several) is up."""

    server: str | None = None


LegacyEvent = (
    RoomJoined
    | JoinFailed
    | OccupantJoined
    | OccupantChanged
    | OccupantLeft
    | NickChanged
    | NickChangeFailed
    | Kicked
    | RoomLeft
    | SubjectChanged
    | RoomAvatar
    | MessageIn
    | HistoryIn
    | ContactPresence
    | Typing
    | RoomListed
    | ContactListed
    | Disconnected
    | Connected
    | Reaction
    | Retraction
    | Displayed
    | MessageSent
)


# ----------------------------------------------------------------------------- core → legacy


@dataclass(frozen=True, slots=True)
class JoinRoom:
    room: RoomAddress
    nick: str
    password: str | None = None


@dataclass(frozen=True, slots=True)
class LeaveRoom:
    room: RoomAddress
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SendMessage:
    """The user says *body* to a room or a contact; *xmpp_id* comes back in any echo."""

    target: RoomAddress | ContactAddress | ServerAddress
    body: str
    xmpp_id: str
    action: bool = False
    # Legacy id of the message this one corrects (networks with edits).
    replaces: str | None = None
    # Legacy id of the message this one answers (networks with replies).
    reply_to: str | None = None
    # URLs of files the user shares (XEP-0066/0363), for networks with media; the core
    # leaves them in *body* instead for networks without.
    attachments: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class React:
    """The user's whole set of reactions to the message *legacy_id* (empty: none left)."""

    target: RoomAddress | ContactAddress
    legacy_id: str
    emojis: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Retract:
    """The user takes back their message *legacy_id*."""

    target: RoomAddress | ContactAddress
    legacy_id: str


@dataclass(frozen=True, slots=True)
class MarkDisplayed:
    """The user has read up to the message *legacy_id*."""

    target: RoomAddress | ContactAddress
    legacy_id: str


@dataclass(frozen=True, slots=True)
class ChangeNick:
    room: RoomAddress
    nick: str


@dataclass(frozen=True, slots=True)
class SetSubject:
    room: RoomAddress
    subject: str


@dataclass(frozen=True, slots=True)
class KickOccupant:
    room: RoomAddress
    nick: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SetOccupantPower:
    """A muc#admin change: give *nick* a role or an affiliation."""

    room: RoomAddress
    nick: str
    role: Role | None = None
    affiliation: Affiliation | None = None


@dataclass(frozen=True, slots=True)
class InviteContact:
    """Invite a person of the network into a room (XEP-0045 mediated or XEP-0249 direct)."""

    room: RoomAddress
    contact: ContactAddress
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RenameRoom:
    """Give the room a new display name (the owner form's muc#roomconfig_roomname)."""

    room: RoomAddress
    name: str


@dataclass(frozen=True, slots=True)
class SetPresence:
    """The user's own availability, aggregated over their resources."""

    show: Show
    status: str = ""


@dataclass(frozen=True, slots=True)
class WatchContact:
    """The user has (or no longer has) *contact* in their roster: report their presence."""

    contact: ContactAddress
    watch: bool = True


@dataclass(frozen=True, slots=True)
class SendTyping:
    target: RoomAddress | ContactAddress
    active: bool = True


UserAction = (
    JoinRoom
    | LeaveRoom
    | SendMessage
    | ChangeNick
    | SetSubject
    | KickOccupant
    | SetOccupantPower
    | InviteContact
    | RenameRoom
    | SetPresence
    | SendTyping
    | WatchContact
    | React
    | Retract
    | MarkDisplayed
)
