"""One established IRC connection as a pure state machine: server lines in, bridge events out.

The asyncio shell feeds every line after registration to :meth:`IrcClientState.receive`
and the user's actions to the verbs (:meth:`~IrcClientState.join`, :meth:`~IrcClientState.say`
…); each returns :data:`Output` values, events for the core and lines for the server, in
order. A hostile server cannot make :meth:`~IrcClientState.receive` raise. Create one per
connection: after :meth:`~IrcClientState.lost`, its :meth:`~IrcClientState.channels` are
what the next connection rejoins.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from bridge.addressing import ContactAddress, RoomAddress, ServerAddress
from bridge.errors import BadRequest, NickInUse, NoSuchContact, NoSuchRoom, NotConnected
from bridge.events import (
    Affiliation,
    ContactPresence,
    Disconnected,
    JoinFailed,
    LegacyEvent,
    MessageIn,
    NickChangeFailed,
    Role,
    Show,
)
from bridge.network import RoomListing
from plugins.irc.channels import Channel, Phase, join_error, power_lines
from plugins.irc.chathistory import HistoryReplay, SeenHistory, server_time
from plugins.irc.echoes import EchoMatcher
from plugins.irc.membership import HANDLERS as MEMBERSHIP_HANDLERS
from plugins.irc.membership import Identity, Membership
from plugins.irc.protocol import ctcp
from plugins.irc.protocol.casemap import fold, same
from plugins.irc.protocol.formatting import irc_to_plain, irc_to_styled, plain_to_irc
from plugins.irc.protocol.isupport import ServerFeatures
from plugins.irc.protocol.message import IrcMessage, cmd, nick_of
from plugins.irc.protocol.splitting import max_body_bytes, prefix_length, split_message
from plugins.irc.queries import Answer, ChannelList, CtcpQuestions
from plugins.irc.user_input import (
    NOT_IN_CHANNEL,
    check_channel_name,
    one_line,
    raw_lines,
    valid_nick,
)
from plugins.irc.watch import REPLIES as WATCH_REPLIES
from plugins.irc.watch import ContactWatch

log = logging.getLogger(__name__)

Output = LegacyEvent | IrcMessage
Replies = Callable[[IrcMessage], bool | Sequence[Output] | None]
"""Takes a reply to a query of ours: True (taken, nothing to say), outputs, or None/False
(not ours: a numeric for the user)."""

# Numerics that tell a user nothing: replies to the bridge's own queries, or away acks.
_SILENT_NUMERICS = frozenset({"302", "305", "306", "329", "333", "366"})
_NICK_ERRORS = frozenset({"432", "433", "436", "437"})
_AWAY_SHOWS = frozenset({Show.AWAY, Show.XA, Show.DND})


MODE_COMMAND = "/mode "


class IrcClientState:
    """Channels, members and our nick for one registered connection to ``server``."""

    def __init__(
        self,
        *,
        server: str,
        nick: str,
        features: ServerFeatures,
        caps: frozenset[str],
        version: str = "xmpp-bridge",
        encoding_fallback: str = "latin-1",
    ) -> None:
        self._server = server
        self._caps = caps
        self._version = version
        self._encoding_fallback = encoding_fallback
        self._me = Identity(nick)
        self._members = Membership(server, features, self._me)
        self._echoes = EchoMatcher()
        self._wanted_nick: str | None = None
        self._away: str | None = None
        self._lost = False
        self._list = ChannelList(server, self._current_features)
        self._ctcp = CtcpQuestions(self._casemapping)
        self._watch = ContactWatch(server, self._current_features, self._members.shares_channel)
        self.history = SeenHistory(features.casemapping)
        self._replay = HistoryReplay(self._current_caps, self._current_features)

    @property
    def nick(self) -> str:
        return self._me.nick

    def __repr__(self) -> str:
        channels = len(self._members.channels)
        return f"<IrcClientState {self._me.nick}@{self._server} channels={channels}>"

    # ------------------------------------------------------------------ server → bridge

    def receive(self, message: IrcMessage) -> list[Output]:
        """Take one message from the server; never raises, whatever the server sent."""
        try:
            return self._dispatch(message)
        except Exception:
            log.debug("skipped a %s line that could not be handled", message.command, exc_info=True)
            return []

    def _dispatch(self, message: IrcMessage) -> list[Output]:
        if self._replay.channel_of(message) is not None:
            replayed = message.command in ("PRIVMSG", "NOTICE")
            return self._on_text(message, replay=True) if replayed else []
        out = self._handle(message)
        if message.command == "366" and self._members.joined(message.param(1)) is not None:
            self.history.saw(message.param(1), server_time(message), None)
            out += self._replay.request(message.param(1))
        return out + self._watch.observe(message)

    def _handle(self, message: IrcMessage) -> list[Output]:
        membership = MEMBERSHIP_HANDLERS.get(message.command)
        if membership is not None:
            events = membership(self._members, message)
            return self._on_numeric(message) if events is None else list(events)
        handler = _HANDLERS.get(message.command)
        if handler is not None:
            return handler(self, message)
        replies = _REPLIES.get(message.command)
        if replies is not None:
            return self._reply_or_numeric(replies(self), message)
        if message.command.isdigit():
            return self._on_numeric(message)
        log.debug("ignored a %s line", message.command)
        return []

    def _reply_or_numeric(self, handler: Replies, message: IrcMessage) -> list[Output]:
        """A reply to one of our queries, or else a numeric for the user to read."""
        handled = handler(message)
        if handled is None or handled is False:
            return self._on_numeric(message)
        return [] if handled is True else list(handled)

    def _on_ping(self, message: IrcMessage) -> list[Output]:
        return [cmd("PONG", *message.params)]

    def _on_text(self, message: IrcMessage, *, replay: bool = False) -> list[Output]:
        """PRIVMSG and NOTICE: to a channel, to us, from a server, our own echoed, or replayed."""
        notice = message.command == "NOTICE"
        target, body = message.param(0), message.param(1)
        channel_name = self._channel_target(target)
        when, legacy_id = server_time(message), message.tags.get("msgid")
        from_server = self._from_server(message.source)
        if from_server and channel_name is None:
            text = irc_to_plain(body)
            if not text.strip():
                return []
            return [MessageIn(self._server_address(), text, when=when, notice=notice)]
        sender = "" if from_server else nick_of(message.source)
        own = self._is_me(sender)
        request = ctcp.parse_ctcp(body)
        if request is not None and request.command != "ACTION":
            return [] if own or replay else self._on_ctcp(sender, request, reply=notice)
        source: RoomAddress | ContactAddress
        if channel_name is not None:
            source = self._members.room(channel_name)
            if not self.history.saw(channel_name, when, legacy_id) and replay:
                return []
        else:
            source = ContactAddress(self._server, target if own else sender)
        echo_of = None
        if own and not notice and not replay:
            echo = self._echoes.match(self._fold(channel_name or target))
            if not echo.show:
                return []
            echo_of = echo.echo_of
        text = irc_to_styled(request.argument if request is not None else body)
        if not text.strip():
            return []
        return [
            MessageIn(
                source,
                text,
                nick=sender if channel_name is not None and sender else None,
                legacy_id=legacy_id,
                when=when,
                action=request is not None,
                notice=notice,
                own=own,
                echo_of=echo_of,
            )
        ]

    def _on_ctcp(self, sender: str, request: ctcp.Ctcp, *, reply: bool) -> list[Output]:
        if not sender:
            return []
        if reply and self._ctcp.answered(sender, request):
            return []
        if reply:
            text = f"CTCP {request.command} reply: {irc_to_plain(request.argument)}".rstrip()
            return [MessageIn(ContactAddress(self._server, sender), text, notice=True)]
        if request.command == "VERSION":
            return [cmd("NOTICE", sender, ctcp.version_reply(self._version))]
        if request.command == "PING":
            return [cmd("NOTICE", sender, ctcp.ping_reply(request))]
        if request.command == "TIME":
            now = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
            return [cmd("NOTICE", sender, ctcp.Ctcp("TIME", now).to_body())]
        return []

    def _on_away(self, message: IrcMessage) -> list[Output]:
        nick = nick_of(message.source)
        if not nick or self._is_me(nick) or self._watch.watches(nick):
            return []  # a watched contact's presence is the watch's to tell
        show = Show.AWAY if message.params else Show.AVAILABLE
        status = irc_to_plain(message.param(0))
        return [ContactPresence(ContactAddress(self._server, nick), show, status)]

    def _on_invite(self, message: IrcMessage) -> list[Output]:
        inviter, channel = nick_of(message.source), message.param(1)
        if not inviter or not self._features.is_channel(channel):
            return []
        text = f"{inviter} invites you to {channel}: join it to accept"
        return [MessageIn(ContactAddress(self._server, inviter), text, notice=True)]

    def _on_away_reply(self, message: IrcMessage) -> list[Output]:
        """301, sent when we message someone away: their presence says so."""
        nick = message.param(1)
        if not nick or self._watch.watches(nick):
            return []
        status = irc_to_plain(message.param(2))
        return [ContactPresence(ContactAddress(self._server, nick), Show.AWAY, status)]

    def _on_chghost(self, message: IrcMessage) -> list[Output]:
        if self._is_me(nick_of(message.source)) and len(message.params) >= 2:
            self._me.user, self._me.host = message.param(0), message.param(1)
        return []

    def _on_userhost(self, message: IrcMessage) -> list[Output]:
        for reply in message.param(-1).split():
            nick, _, userhost = reply.partition("=")
            if self._is_me(nick.rstrip("*")):
                self._me.learn(f"{nick}!{userhost[1:]}")
        return []

    def _on_host_hidden(self, message: IrcMessage) -> list[Output]:
        if message.param(1):
            self._me.host = message.param(1)
        return self._on_numeric(message)

    def _on_cap(self, message: IrcMessage) -> list[Output]:
        """cap-notify and later REQs: keep ``caps`` true (echo-message matters here)."""
        names = {name.partition("=")[0] for name in message.param(-1).split()}
        subcommand = message.param(1).upper()
        if subcommand == "ACK":
            removed = {name[1:] for name in names if name.startswith("-")}
            self._caps = (self._caps | {n for n in names if not n.startswith("-")}) - removed
        elif subcommand == "DEL":
            self._caps = self._caps - names
        return []

    def _on_isupport(self, message: IrcMessage) -> list[Output]:
        self._members.use_features(self._features.with_tokens(message.params[1:-1]))
        return self._on_numeric(message)

    def _on_numeric(self, message: IrcMessage) -> list[Output]:
        """A numeric with no better place: a refused join, a room, a contact, or the server."""
        code, subject = message.command, message.param(1)
        if code in _SILENT_NUMERICS:
            return []
        server_text = irc_to_plain(message.param(-1)) if len(message.params) > 2 else ""
        channel = self._members.channels.get(subject) if code[0] in "45" else None
        if channel is not None and channel.phase is Phase.REQUESTED:
            del self._members.channels[subject]
            error = join_error(code, subject, server_text, had_key=channel.key is not None)
            return [JoinFailed(RoomAddress(self._server, subject), error)]
        if channel is not None and channel.phase is Phase.JOINED:
            return [MessageIn(self._members.room(subject), server_text or code, notice=True)]
        if code == "401" and self._ctcp.no_such_nick(subject, self._server):
            return []
        if code in ("401", "406") and subject and not self._features.is_channel(subject):
            text = f"{subject}: no such nick, the message was not delivered"
            return [MessageIn(ContactAddress(self._server, subject), text, notice=True)]
        if code in _NICK_ERRORS and self._wanted_nick and self._same(subject, self._wanted_nick):
            return self._nick_refused(code, subject, server_text)
        text = irc_to_plain(" ".join(message.params[1:])).strip()
        return [MessageIn(self._server_address(), text, notice=True)] if text else []

    def _nick_refused(self, code: str, nick: str, server_text: str) -> list[Output]:
        """A nick change failed: every room hears it, since the user asked from one of them."""
        self._wanted_nick = None
        said = server_text or "refused by the server"
        rooms = self._members.joined_rooms()
        if not rooms:
            text = f"cannot change nick to {nick}: {said}"
            return [MessageIn(self._server_address(), text, notice=True)]
        error = (
            BadRequest(f"{nick} is not a nick {self._server} accepts ({said}): choose another")
            if code == "432"
            else NickInUse(f"{nick} is taken on {self._server} ({said}): choose another nick")
        )
        return [NickChangeFailed(room, nick, error) for room in rooms]

    # ------------------------------------------------------------------ bridge → server

    def join(self, channel: str, nick: str, key: str | None) -> list[Output]:
        """JOIN *channel*; *nick* is taken first when no other channel ties us to ours."""
        check_channel_name(channel, self._features, self._server)
        if key is not None and any(char in NOT_IN_CHANNEL for char in key):
            raise BadRequest("a channel key cannot contain spaces or commas")
        channels = self._members.channels
        known = channels.get(channel)
        if known is not None and known.phase is Phase.JOINED:
            return [self._members.room_joined(channels.spelling(channel), known)]
        lines: list[Output] = []
        if not channels and valid_nick(nick) and not self._is_me(nick):
            self._wanted_nick = nick
            lines.append(cmd("NICK", nick))
        if known is None:
            known = channels[channel] = Channel(channels.casemapping)
        known.key = key or known.key
        lines.append(cmd("JOIN", channel, known.key) if known.key else cmd("JOIN", channel))
        return lines

    def part(self, channel: str, reason: str) -> list[Output]:
        """Leave *channel*; no event follows, since the core asked for it."""
        channels = self._members.channels
        if channel not in channels:
            return []
        name = channels.spelling(channel)
        del channels[channel]
        reason = one_line(plain_to_irc(reason))
        return [cmd("PART", name, reason) if reason else cmd("PART", name)]

    def say(
        self,
        target: RoomAddress | ContactAddress | ServerAddress,
        body: str,
        *,
        action: bool,
        xmpp_id: str,
    ) -> list[Output]:
        """PRIVMSGs carrying *body*, cut to what the server relays whole; raw lines to a server."""
        if isinstance(target, ServerAddress):
            return list(raw_lines(body, self._encoding_fallback))
        name = self._message_target(target)
        if isinstance(target, RoomAddress) and body.startswith(MODE_COMMAND):
            # Biboumi's habit: "/mode +o bob" in a channel is a MODE on that channel.
            return [cmd("MODE", name, *body[len(MODE_COMMAND) :].split())]
        own_prefix = prefix_length(self._me.nick, self._me.user, self._me.host)
        budget = max_body_bytes(self._features, own_prefix, "PRIVMSG", name, ctcp_action=action)
        try:
            pieces = split_message(plain_to_irc(body), budget)
        except ValueError as error:
            raise BadRequest(str(error)) from None
        if pieces and "echo-message" in self._caps:
            self._echoes.expect(self._fold(name), xmpp_id, len(pieces))
        return [cmd("PRIVMSG", name, ctcp.action(piece) if action else piece) for piece in pieces]

    def change_nick(self, nick: str) -> list[Output]:
        if not valid_nick(nick):
            raise BadRequest(f"{nick!r} cannot be an IRC nick: no spaces, ',', '!', '@' or ':'")
        if nick == self._me.nick:
            return []
        self._wanted_nick = nick
        return [cmd("NICK", nick)]

    def set_topic(self, channel: str, topic: str) -> list[Output]:
        return [cmd("TOPIC", self._joined_name(channel), one_line(plain_to_irc(topic)))]

    def kick(self, channel: str, nick: str, reason: str) -> list[Output]:
        name = self._joined_name(channel)
        reason = one_line(plain_to_irc(reason))
        return [cmd("KICK", name, nick, reason) if reason else cmd("KICK", name, nick)]

    def invite(self, channel: str, nick: str) -> list[Output]:
        return [cmd("INVITE", nick, self._joined_name(channel))]

    def set_power(
        self, channel: str, nick: str, role: Role | None, affiliation: Affiliation | None
    ) -> list[Output]:
        """MODE lines giving *nick* a role or an affiliation; role none kicks, outcast bans."""
        name = self._joined_name(channel)
        if role is Role.NONE and affiliation is not Affiliation.OUTCAST:
            return self.kick(channel, nick, "")
        members = self._members.channels[channel].members
        if nick not in members and affiliation is not Affiliation.OUTCAST:
            raise NoSuchContact(f"{nick} is not in {name}")
        lines: list[Output] = []
        lines += power_lines(name, nick, members.get(nick, ""), role, affiliation, self._features)
        if affiliation is Affiliation.OUTCAST and nick in members:
            lines.append(cmd("KICK", name, nick))  # XEP-0045: an outcast is removed too
        return lines

    def away(self, show: Show, status: str) -> list[Output]:
        """AWAY with the status while the user is away, AWAY alone when back; once per change."""
        if show is Show.OFFLINE:
            return []
        message = (one_line(plain_to_irc(status)) or "away") if show in _AWAY_SHOWS else None
        if message == self._away:
            return []
        self._away = message
        return [cmd("AWAY", message) if message else cmd("AWAY")]

    def list_channels(self, now: float, answer: Answer[list[RoomListing]]) -> list[Output]:
        """Ask for the server's channel list (LIST, unless a recent or running one serves)."""
        return list(self._list.request(now, answer))

    def ask_client(
        self, contact: ContactAddress, command: str, answer: Answer[str]
    ) -> list[Output]:
        """CTCP *command* (VERSION, PING) to *contact*; *answer* gets the reply's text."""
        return list(self._ctcp.ask(self._message_target(contact), command, answer))

    def watch(self, nicks: Iterable[str]) -> list[Output]:
        """Report the presence of exactly these nicks (MONITOR, or ISON at each poll)."""
        return list(self._watch.sync(nicks))

    def poll_contacts(self) -> list[Output]:
        """The periodic ISON for watched nicks that MONITOR does not cover."""
        return list(self._watch.poll())

    def resume(self, previous: IrcClientState) -> list[Output]:
        """Take over what the lost connection *previous* saw; fill the joined channels' gaps."""
        self._replay.plan(self.history.adopt(previous.history))
        return [
            line
            for room in self._members.joined_rooms()
            for line in self._replay.request(room.name)
        ]

    def channels(self) -> list[tuple[str, str | None]]:
        """Channels joined or being joined, as the server spells them, with their keys."""
        return [(name, channel.key) for name, channel in self._members.channels.items()]

    def lost(self, reason: str) -> list[Output]:
        """The link dropped: say so once; the channels stay listed for the rejoin."""
        if self._lost:
            return []
        self._lost = True
        self._echoes.clear()
        for channel in self._members.channels.values():
            channel.reset()
        gone = NotConnected(f"the connection to {self._server} was lost ({reason}): ask again")
        self._list.fail(gone)
        self._ctcp.fail(gone)
        return [Disconnected(reason, reconnecting=True, server=self._server), *self._watch.lost()]

    # ------------------------------------------------------------------ helpers

    @property
    def _features(self) -> ServerFeatures:
        return self._members.features

    def _current_features(self) -> ServerFeatures:
        return self._members.features

    def _current_caps(self) -> frozenset[str]:
        return self._caps

    def _casemapping(self) -> str:
        return self._members.channels.casemapping

    def _same(self, a: str, b: str) -> bool:
        return same(a, b, self._members.channels.casemapping)

    def _fold(self, name: str) -> str:
        return fold(name, self._members.channels.casemapping)

    def _is_me(self, nick: str) -> bool:
        return self._members.is_me(nick)

    def _server_address(self) -> ServerAddress:
        return ServerAddress(self._server)

    def _from_server(self, source: str | None) -> bool:
        """A server speaks with its name (a dot, never ``!`` or ``@``), a user with a nick."""
        if source is None or same(source, self._server, "ascii"):
            return True
        return "." in source and "!" not in source and "@" not in source

    def _channel_target(self, target: str) -> str | None:
        """The channel a message went to (``@#chan``, to its operators, is ``#chan``), if any."""
        name = target.lstrip(self._features.tokens.get("STATUSMSG", ""))
        return name if self._features.is_channel(name) else None

    def _joined_name(self, channel: str) -> str:
        """How the server spells a channel we are in; NoSuchRoom when we are not."""
        if self._members.joined(channel) is None:
            raise NoSuchRoom(f"you are not in {channel} on {self._server}: join it first")
        return self._members.channels.spelling(channel)

    def _message_target(self, target: RoomAddress | ContactAddress) -> str:
        if isinstance(target, RoomAddress):
            return self._joined_name(target.name)
        if not valid_nick(target.name) or self._features.is_channel(target.name):
            raise NoSuchContact(f"{target.name!r} is not a valid IRC nick")
        return target.name


# Shared by every connection: a per-connection table of bound methods and closures
# weighed kilobytes per user.
_HANDLERS: dict[str, Callable[[IrcClientState, IrcMessage], list[Output]]] = {
    "PING": IrcClientState._on_ping,
    "PRIVMSG": IrcClientState._on_text,
    "NOTICE": IrcClientState._on_text,
    "AWAY": IrcClientState._on_away,
    "INVITE": IrcClientState._on_invite,
    "CHGHOST": IrcClientState._on_chghost,
    "CAP": IrcClientState._on_cap,
    "005": IrcClientState._on_isupport,
    "301": IrcClientState._on_away_reply,
    "302": IrcClientState._on_userhost,
    "396": IrcClientState._on_host_hidden,
}

_REPLIES: dict[str, Callable[[IrcClientState], Replies]] = {
    "BATCH": lambda state: state._replay.on_batch,
    "321": lambda state: state._list.on_start,
    "322": lambda state: state._list.on_item,
    "323": lambda state: state._list.on_end,
    "263": lambda state: state._list.on_refused,
    "416": lambda state: state._list.on_refused,
    **{command: lambda state: state._watch.reply for command in WATCH_REPLIES},
}
"""Replies to the connection's own queries: the part of the state that takes each."""
