"""An XMPP user for tests: a slixmpp client that records every stanza it receives."""

import asyncio
import contextlib
from collections.abc import Callable, Sequence

from slixmpp import ClientXMPP
from slixmpp.exceptions import IqError
from slixmpp.plugins.xep_0004 import Form
from slixmpp.stanza import Iq, Message, Presence
from slixmpp.xmlstream import StanzaBase

from bridge.devservers.ports import LOOPBACK

StanzaPredicate = Callable[[StanzaBase], bool]

DEFAULT_PLUGINS = (
    "xep_0004",  # data forms
    "xep_0030",  # service discovery
    "xep_0045",  # multi-user chat
    "xep_0050",  # ad-hoc commands
    "xep_0059",  # result set management
    "xep_0077",  # in-band registration
    "xep_0085",  # chat states
    "xep_0092",  # software version
    "xep_0115",  # entity capabilities
    "xep_0184",  # delivery receipts
    "xep_0199",  # ping
    "xep_0203",  # delayed delivery
    "xep_0308",  # last message correction
    "xep_0313",  # message archive management
    "xep_0359",  # stable stanza ids
)
LOGIN_TIMEOUT = 10.0
LOGOUT_TIMEOUT = 5.0
IQ_TIMEOUT = 10.0
SUMMARY_STANZAS = 20
SUMMARY_CHARS = 400


class XmppClient(ClientXMPP):
    """A client on plain TCP to a loopback test server, logging in with any password.

    Every incoming message, presence and iq is kept in `received`, so a test can wait for
    a stanza that may already have arrived (`wait_for`) without racing its arrival.
    Subscription requests are accepted automatically, as most clients do when asked.
    """

    def __init__(self, jid: str, password: str, plugins: Sequence[str] = DEFAULT_PLUGINS) -> None:
        super().__init__(jid, password)
        self.enable_plaintext = True
        self.enable_starttls = False
        self.enable_direct_tls = False
        self.plugin["feature_mechanisms"].unencrypted_plain = True
        for plugin in plugins:
            self.register_plugin(plugin)
        self.received: list[StanzaBase] = []
        self._arrival = asyncio.Event()
        self.add_filter("in", self._record)

    def _record(self, stanza: StanzaBase) -> StanzaBase:
        if isinstance(stanza, Message | Presence | Iq):
            self.received.append(stanza)
            self._arrival.set()
            self._arrival = asyncio.Event()
        return stanza

    async def start(self, port: int, host: str = LOOPBACK, *, available: bool = True) -> None:
        """Connect and log in; when `available`, also announce presence so messages reach us."""
        session: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def started(_: object) -> None:
            if not session.done():
                session.set_result(None)

        def refused(_: object) -> None:
            if not session.done():
                session.set_exception(AssertionError(f"{self.boundjid} failed to authenticate"))

        self.add_event_handler("session_start", started)
        self.add_event_handler("failed_auth", refused)
        self.connect(host, port)
        try:
            await asyncio.wait_for(session, LOGIN_TIMEOUT)
        except TimeoutError:
            self.abort()
            raise AssertionError(
                f"{self.boundjid} did not log in to {host}:{port} within {LOGIN_TIMEOUT:g} s"
            ) from None
        finally:
            self.del_event_handler("session_start", started)
            self.del_event_handler("failed_auth", refused)
        if available:
            self.send_presence()
            # The server handles one session's stanzas in order: once the roster answers,
            # our presence is in effect.
            await self.get_roster(timeout=LOGIN_TIMEOUT)

    async def stop(self) -> None:
        """Close the stream politely, or drop the connection if the server does not answer."""
        try:
            await asyncio.wait_for(self.disconnect(), LOGOUT_TIMEOUT)
        except TimeoutError:
            self.abort()

    def mark(self) -> int:
        """A position in `received`: pass it as `after` to wait only for later stanzas."""
        return len(self.received)

    async def wait_for(
        self,
        predicate: StanzaPredicate,
        timeout: float = 10.0,  # noqa: ASYNC109  (the timeout is named in the failure message)
        *,
        after: int = 0,
    ) -> StanzaBase:
        """The first stanza received (from position `after` on) that matches, already or soon."""
        position = after
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for stanza in self.received[position:]:
                if predicate(stanza):
                    return stanza
            position = len(self.received)
            arrival = self._arrival
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(self._summary(timeout, after))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(arrival.wait(), remaining)

    def _summary(self, timeout: float, after: int) -> str:
        seen = self.received[after:]
        shown = seen[-SUMMARY_STANZAS:]
        lines = [
            f"{self.boundjid}: no matching stanza within {timeout:g} s; "
            f"{len(seen)} received, the last {len(shown)}:"
        ]
        lines += [f"  {str(stanza)[:SUMMARY_CHARS]}" for stanza in shown]
        return "\n".join(lines)

    async def iq(self, request: Iq) -> Iq:
        """Send an iq and return its reply, error replies included (tests assert on them)."""
        try:
            reply: Iq = await request.send(timeout=IQ_TIMEOUT)  # type: ignore[no-untyped-call, unused-ignore]
        except IqError as error:
            return error.iq  # type: ignore[no-any-return]
        return reply

    async def command(self, to: str, node: str, **fields: str | list[str]) -> Iq:
        """Run the ad-hoc command *node* on *to*: execute, then submit *fields* when it asks."""
        request: Iq = self.Iq()
        request["type"], request["to"] = "set", to
        request["command"]["node"], request["command"]["action"] = node, "execute"
        opened = await self.iq(request)
        if opened["type"] == "error" or opened["command"]["status"] == "completed" or not fields:
            return opened
        form = Form()
        form["type"] = "submit"
        form["values"] = fields
        submit: Iq = self.Iq()
        submit["type"], submit["to"] = "set", to
        submit["command"]["node"], submit["command"]["action"] = node, "complete"
        submit["command"]["sessionid"] = opened["command"]["sessionid"]
        submit["command"].append(form)
        return await self.iq(submit)
