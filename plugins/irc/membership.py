"""Who is in which channel: JOIN, PART, QUIT, NICK, KICK, MODE, TOPIC and NAMES to room events.

Our own join is collected (echoed JOIN, topic, names) and reported as one RoomJoined at
RPL_ENDOFNAMES; until then nothing is said about the room, since the core does not know
it yet. Names and nicks are compared under the server's casemapping, and shown as the
server spells them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bridge.addressing import RoomAddress
from bridge.events import (
    Kicked,
    LegacyEvent,
    MessageIn,
    NickChanged,
    OccupantChanged,
    OccupantJoined,
    OccupantLeft,
    RoomJoined,
    RoomLeft,
    SubjectChanged,
)
from plugins.irc.channels import Channel, Phase
from plugins.irc.protocol.casemap import FoldedDict, same
from plugins.irc.protocol.formatting import irc_to_plain
from plugins.irc.protocol.isupport import ServerFeatures
from plugins.irc.protocol.message import IrcMessage, nick_of
from plugins.irc.protocol.modes import ModeChange, format_modes, parse_modes, parse_names

# A handler returns None when the line is not about a channel it knows (a reply to a raw
# command the user typed, say), so the caller can show it as a server message instead.
MembershipHandler = Callable[["Membership", IrcMessage], list[LegacyEvent] | None]


@dataclass(slots=True)
class Identity:
    """Who we are on this connection: our nick, and our ``user@host`` once the server shows it."""

    nick: str
    user: str | None = None
    host: str | None = None

    def learn(self, source: str | None) -> None:
        """Take user and host from our own ``nick!user@host``; anything else is ignored."""
        if source and "!" in source and "@" in source:
            self.user, _, self.host = source.split("!", 1)[1].partition("@")


class Membership:
    """The channels of one connection and their members' prefix modes."""

    __slots__ = ("channels", "features", "me", "server")

    def __init__(self, server: str, features: ServerFeatures, me: Identity) -> None:
        self.server = server
        self.features = features
        self.me = me
        self.channels: FoldedDict[Channel] = FoldedDict(features.casemapping)

    def use_features(self, features: ServerFeatures) -> None:
        """A late RPL_ISUPPORT; the casemapping can only change while no channel is known."""
        self.features = features
        if not self.channels and features.casemapping != self.channels.casemapping:
            self.channels = FoldedDict(features.casemapping)

    def is_me(self, nick: str) -> bool:
        return same(nick, self.me.nick, self.channels.casemapping)

    def room(self, name: str) -> RoomAddress:
        """The room of channel *name*, spelled as the server spelled it."""
        spelled = self.channels.spelling(name) if name in self.channels else name
        return RoomAddress(self.server, spelled)

    def joined(self, name: str) -> Channel | None:
        """The channel *name* if we are in it (not merely joining)."""
        channel = self.channels.get(name)
        return channel if channel is not None and channel.phase is Phase.JOINED else None

    def shares_channel(self, nick: str) -> bool:
        """Whether *nick* is in a channel we are in (so certainly online)."""
        return any(
            nick in channel.members
            for channel in self.channels.values()
            if channel.phase is Phase.JOINED
        )

    def joined_rooms(self) -> list[RoomAddress]:
        return [self.room(name) for name, c in self.channels.items() if c.phase is Phase.JOINED]

    def room_joined(self, name: str, channel: Channel) -> RoomJoined:
        """The whole picture of a joined channel, as the core wants it once."""
        own = channel.standing_of(self.me.nick)
        occupants = tuple(
            channel.occupant(nick, self.server) for nick in channel.members if not self.is_me(nick)
        )
        return RoomJoined(
            room=self.room(name),
            nick=self.me.nick,
            occupants=occupants,
            subject=channel.topic,
            subject_by=channel.topic_by,
            own_role=own.role,
            own_affiliation=own.affiliation,
        )

    def _on_join(self, message: IrcMessage) -> list[LegacyEvent]:
        nick = nick_of(message.source)
        out: list[LegacyEvent] = []
        for name in message.param(0).split(","):
            if not self.features.is_channel(name):
                continue
            if self.is_me(nick):
                self.me.learn(message.source)
                self._echoed_join(name)
                continue
            channel = self.channels.get(name)
            if channel is None or channel.phase is Phase.REQUESTED:
                continue
            channel.members[nick] = ""
            if channel.phase is Phase.JOINED:
                out.append(OccupantJoined(self.room(name), channel.occupant(nick, self.server)))
        return out

    def _echoed_join(self, name: str) -> None:
        """Our JOIN came back (asked for, or made by the server): collect topic and names."""
        channel = self.channels.pop(name, None) or Channel(self.channels.casemapping)
        if channel.phase is Phase.REQUESTED:
            channel.phase = Phase.NAMING
        self.channels[name] = channel  # as the server spells it

    def _on_part(self, message: IrcMessage) -> list[LegacyEvent]:
        nick = nick_of(message.source)
        reason = irc_to_plain(message.param(1))
        out: list[LegacyEvent] = []
        for name in message.param(0).split(","):
            channel = self.channels.get(name)
            if channel is None:
                continue  # a part we asked for: the channel is already forgotten
            room = self.room(name)
            if self.is_me(nick):
                del self.channels[name]
                if channel.phase is Phase.JOINED:
                    out.append(RoomLeft(room, reason))
            elif channel.members.pop(nick, None) is not None and channel.phase is Phase.JOINED:
                out.append(OccupantLeft(room, nick, reason))
        return out

    def _on_quit(self, message: IrcMessage) -> list[LegacyEvent]:
        nick = nick_of(message.source)
        if self.is_me(nick):
            return []  # our own QUIT: the shell reports the lost link
        reason = irc_to_plain(message.param(0))
        out: list[LegacyEvent] = []
        for name, channel in self.channels.items():
            if channel.members.pop(nick, None) is not None and channel.phase is Phase.JOINED:
                out.append(OccupantLeft(self.room(name), nick, reason))
        return out

    def _on_nick(self, message: IrcMessage) -> list[LegacyEvent]:
        old, new = nick_of(message.source), message.param(0)
        if not old or not new:
            return []
        if self.is_me(old):
            self.me.nick = new
        out: list[LegacyEvent] = []
        for name, channel in self.channels.items():
            if channel.rename(old, new) and channel.phase is Phase.JOINED:
                out.append(NickChanged(self.room(name), old, new))
        return out

    def _on_kick(self, message: IrcMessage) -> list[LegacyEvent]:
        name, nick = message.param(0), message.param(1)
        channel = self.channels.get(name)
        if channel is None or not nick:
            return []
        room = self.room(name)
        if self.is_me(nick):
            del self.channels[name]
        elif channel.members.pop(nick, None) is None:
            return []
        if channel.phase is not Phase.JOINED:
            return []
        actor = nick_of(message.source) or None
        return [Kicked(room, nick, actor, irc_to_plain(message.param(2)))]

    def _on_mode(self, message: IrcMessage) -> list[LegacyEvent]:
        """Prefix modes change occupants; other modes are shown in the room as a line."""
        channel = self.channels.get(message.param(0))
        if channel is None:
            return []  # our user modes, or a channel we are not in
        room = self.room(message.param(0))
        actor = nick_of(message.source) or None
        parsed = parse_modes(message.param(1), message.params[2:], self.features)
        prefix_modes = self.features.prefix_modes
        out: list[LegacyEvent] = []
        others: list[ModeChange] = []
        for change in parsed.changes:
            if change.mode not in prefix_modes:
                others.append(change)
            elif change.arg is not None and change.arg in channel.members:
                channel.set_mode(change.arg, change.mode, change.adding, prefix_modes)
                occupant = channel.occupant(change.arg, self.server)
                out.append(OccupantChanged(room, occupant, actor))
        if channel.phase is not Phase.JOINED:
            return []
        if others:
            text = f"{actor or self.server} sets mode {' '.join(format_modes(others))}"
            out.append(MessageIn(room, text))
        return out

    def _on_topic(self, message: IrcMessage) -> list[LegacyEvent]:
        channel = self.channels.get(message.param(0))
        if channel is None:
            return []
        channel.topic = irc_to_plain(message.param(1))
        channel.topic_by = nick_of(message.source) or None
        if channel.phase is not Phase.JOINED:
            return []
        return [SubjectChanged(self.room(message.param(0)), channel.topic, channel.topic_by)]

    def _on_topic_reply(self, message: IrcMessage) -> list[LegacyEvent] | None:
        channel = self.channels.get(message.param(1))
        if channel is None:
            return None
        channel.topic = irc_to_plain(message.param(2))
        return []

    def _on_topic_setter(self, message: IrcMessage) -> list[LegacyEvent]:
        channel = self.channels.get(message.param(1))
        if channel is not None:
            channel.topic_by = nick_of(message.param(2)) or None
        return []

    def _on_names(self, message: IrcMessage) -> list[LegacyEvent] | None:
        # "353 me = #chan :names"; RFC 1459 servers leave the channel type symbol out.
        channel = self.channels.get(message.param(-2))
        if channel is None or channel.phase is not Phase.NAMING:
            return None
        for entry in parse_names(message.param(-1), self.features):
            held = "".join(mode for mode in self.features.prefix_modes if mode in entry.modes)
            channel.members[entry.nick] = held
            if self.is_me(entry.nick):
                self.me.learn(entry.source)
        return []

    def _on_end_of_names(self, message: IrcMessage) -> list[LegacyEvent]:
        name = message.param(1)
        channel = self.channels.get(name)
        if channel is None or channel.phase is not Phase.NAMING:
            return []
        channel.phase = Phase.JOINED
        return [self.room_joined(name, channel)]


HANDLERS: dict[str, MembershipHandler] = {
    "JOIN": Membership._on_join,
    "PART": Membership._on_part,
    "QUIT": Membership._on_quit,
    "NICK": Membership._on_nick,
    "KICK": Membership._on_kick,
    "MODE": Membership._on_mode,
    "TOPIC": Membership._on_topic,
    "332": Membership._on_topic_reply,
    "333": Membership._on_topic_setter,
    "353": Membership._on_names,
    "366": Membership._on_end_of_names,
}
"""The lines membership follows, shared by every connection (not a bound method each)."""
