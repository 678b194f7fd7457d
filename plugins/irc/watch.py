"""Roster contacts' presence on IRC: MONITOR where the server has it, ISON polls elsewhere.

A watched nick is online while it shares a channel with us, or while MONITOR, the last
ISON answer or its own lines (a JOIN, a message) say so, and offline once the server says
so (MONITOR, ISON) or it quits; away while AWAY or 301 says so. The core hears a
:class:`ContactPresence` when what the user should see changes, so once when a nick
first becomes known. Bounded: a few hundred nicks, a few unanswered ISON lines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from bridge.addressing import ContactAddress
from bridge.events import ContactPresence, Show
from plugins.irc.protocol.casemap import FoldedDict
from plugins.irc.protocol.formatting import irc_to_plain
from plugins.irc.protocol.isupport import ServerFeatures
from plugins.irc.protocol.message import IrcMessage, cmd, nick_of

MAX_WATCHED = 200
ISON_INTERVAL = 60.0
"""Seconds between ISON polls on servers without MONITOR."""
_LINE_BYTES = 400  # targets per MONITOR or ISON line, well under the 512-byte limit
_MAX_UNANSWERED_ISON = 8
REPLIES = frozenset({"730", "731", "732", "733", "734", "303"})
"""The numerics :meth:`ContactWatch.reply` takes."""
WatchOutput = IrcMessage | ContactPresence
# Lines after which only the nicks they name may have changed state.
_ABOUT_SOURCE = frozenset({"JOIN", "QUIT", "NICK", "PRIVMSG", "NOTICE", "AWAY"})
_ABOUT_EVERYONE = frozenset({"PART", "KICK", "366"})


@dataclass(slots=True)
class _Contact:
    online: bool | None = None  # what the server last said; None: not known yet
    away: str | None = None
    monitored: bool = False
    shown: tuple[Show, str] | None = None


class ContactWatch:
    """The watched nicks of one connection and what the user was last told about each."""

    def __init__(
        self,
        server: str,
        features: Callable[[], ServerFeatures],
        shares_channel: Callable[[str], bool],
    ) -> None:
        self._server = server
        self._features = features
        self._shares_channel = shares_channel
        self._contacts: FoldedDict[_Contact] = FoldedDict(features().casemapping)
        self._unanswered_ison: list[list[str]] = []  # at most 8; lighter than a deque

    def reply(self, message: IrcMessage) -> Sequence[WatchOutput] | None:
        """One of the :data:`REPLIES`; None when it answers nothing the watch asked."""
        command = message.command
        if command in ("730", "731"):
            return self._monitored(message, online=command == "730")
        if command == "734":
            return self._monitor_full(message)
        if command == "303":
            return self._on_ison(message)
        return []  # 732, 733: MONITOR's own list, never asked for

    def watches(self, nick: str) -> bool:
        return nick in self._contacts

    def watched(self) -> list[str]:
        return list(self._contacts)

    def sync(self, wanted: Iterable[str]) -> list[WatchOutput]:
        """Watch exactly *wanted*: MONITOR or ISON for the new nicks, MONITOR - for the gone."""
        keep: FoldedDict[None] = FoldedDict(self._contacts.casemapping)
        for nick in wanted:
            if len(keep) < MAX_WATCHED:
                keep[nick] = None
        gone = [nick for nick in self._contacts if nick not in keep]
        unmonitored = [nick for nick in gone if self._contacts[nick].monitored]
        for nick in gone:
            del self._contacts[nick]
        added = [nick for nick in keep if nick not in self._contacts]
        for nick in added:
            self._contacts[nick] = _Contact()
        lines = _batched("MONITOR", "-", unmonitored) + self._monitor(added)
        polled = [nick for nick in added if not self._contacts[nick].monitored]
        return [*lines, *self._ison(polled), *self.refresh(added)]

    def poll(self) -> list[IrcMessage]:
        """The periodic ISON for nicks MONITOR does not cover."""
        return self._ison([nick for nick, c in self._contacts.items() if not c.monitored])

    def observe(self, message: IrcMessage) -> list[ContactPresence]:
        """What a line says about watched nicks: JOIN, QUIT, NICK, messages, AWAY, parts."""
        if not self._contacts:
            return []
        command, nick = message.command, nick_of(message.source)
        if command in _ABOUT_EVERYONE:
            return self.refresh()
        if command == "301":
            self._learn(message.param(1), online=True, away=irc_to_plain(message.param(2)))
            return self.refresh([message.param(1)])
        if command == "NICK":
            self._learn(nick, online=False, away=None)
            self._learn(message.param(0), online=True, away=None)
            return self.refresh([nick, message.param(0)])
        if command not in _ABOUT_SOURCE or nick not in self._contacts:
            return []
        if command == "QUIT":
            self._learn(nick, online=False, away=None)
        elif command == "AWAY":
            away = irc_to_plain(message.param(0)) if message.params else None
            self._learn(nick, online=True, away=away)
        else:
            self._learn(nick, online=True, away=self._contacts[nick].away)
        return self.refresh([nick])

    def refresh(self, nicks: Iterable[str] | None = None) -> list[ContactPresence]:
        """Presences that changed for *nicks* (all watched nicks when None)."""
        out: list[ContactPresence] = []
        for nick in list(self._contacts) if nicks is None else list(nicks):
            contact = self._contacts.get(nick)
            if contact is None:
                continue
            shown = self._show(nick, contact)
            if shown is not None and shown != contact.shown:
                contact.shown = shown
                address = ContactAddress(self._server, self._contacts.spelling(nick))
                out.append(ContactPresence(address, *shown))
        return out

    def lost(self) -> list[ContactPresence]:
        """The connection is gone: everyone shown online goes offline until we know again."""
        out: list[ContactPresence] = []
        for nick, contact in self._contacts.items():
            if contact.shown is not None and contact.shown[0] is not Show.OFFLINE:
                out.append(ContactPresence(ContactAddress(self._server, nick), Show.OFFLINE))
            contact.shown = None
        return out

    def _show(self, nick: str, contact: _Contact) -> tuple[Show, str] | None:
        if contact.online or self._shares_channel(nick):
            return (Show.AWAY, contact.away) if contact.away is not None else (Show.AVAILABLE, "")
        return None if contact.online is None else (Show.OFFLINE, "")

    def _learn(self, nick: str, *, online: bool, away: str | None) -> None:
        """Record what the server said of *nick*, if we watch it."""
        contact = self._contacts.get(nick)
        if contact is not None:
            contact.online, contact.away = online, away

    def _monitor(self, nicks: list[str]) -> list[IrcMessage]:
        limit = self._features().monitor
        if limit is None:
            return []
        in_use = sum(1 for contact in self._contacts.values() if contact.monitored)
        room = len(nicks) if limit == 0 else max(limit - in_use, 0)
        chosen = nicks[:room]
        for nick in chosen:
            self._contacts[nick].monitored = True
        return _batched("MONITOR", "+", chosen)

    def _ison(self, nicks: list[str]) -> list[IrcMessage]:
        lines: list[IrcMessage] = []
        for group in _groups(nicks):
            if len(self._unanswered_ison) >= _MAX_UNANSWERED_ISON:
                break  # a server that does not answer ISON is not asked forever
            self._unanswered_ison.append(group)
            lines.append(cmd("ISON", *group))
        return lines

    def _monitored(self, message: IrcMessage, *, online: bool) -> list[ContactPresence]:
        """730 ``:nick!u@h,...`` online, 731 ``:nick,...`` offline."""
        nicks = [nick_of(target) for target in message.param(-1).split(",") if target]
        for nick in nicks:
            contact = self._contacts.get(nick)
            self._learn(nick, online=online, away=contact.away if contact and online else None)
        return self.refresh(nicks)

    def _monitor_full(self, message: IrcMessage) -> list[IrcMessage]:
        """734: the server keeps no more; those nicks are polled with ISON instead."""
        refused = [nick for nick in message.param(2).split(",") if nick in self._contacts]
        for nick in refused:
            self._contacts[nick].monitored = False
        return self._ison(refused)

    def _on_ison(self, message: IrcMessage) -> list[ContactPresence] | None:
        """303 names those online among the next ISON we are waiting for."""
        if not self._unanswered_ison:
            return None  # an ISON the user typed: theirs to read
        asked = self._unanswered_ison.pop(0)
        online: FoldedDict[None] = FoldedDict(self._contacts.casemapping)
        for nick in message.param(-1).split():
            online[nick] = None
        for nick in asked:
            contact = self._contacts.get(nick)
            is_on = nick in online
            self._learn(nick, online=is_on, away=contact.away if contact and is_on else None)
        return self.refresh(asked)


def _groups(nicks: list[str]) -> list[list[str]]:
    """Nicks in groups that fit one line each."""
    groups: list[list[str]] = []
    size = _LINE_BYTES
    for nick in nicks:
        if size + len(nick) + 1 > _LINE_BYTES:
            groups.append([])
            size = 0
        groups[-1].append(nick)
        size += len(nick) + 1
    return groups


def _batched(command: str, sign: str, nicks: list[str]) -> list[IrcMessage]:
    """``MONITOR + a,b,c`` lines, each under the line budget."""
    return [cmd(command, sign, ",".join(group)) for group in _groups(nicks)]
