"""A cheap XMPP client for measuring: raw asyncio stream, expat pull parser, no slixmpp.

Thousands of these share two cores with the servers they measure, so each keeps one
reader task, one pull parser and no buffers of its own, and handles a stanza in a few
microseconds. It speaks just enough XMPP for a benchmark: SASL PLAIN on plain TCP, resource
binding, initial presence, MUC joins, iq round trips and XEP-0050 commands.
"""

import asyncio
import base64
import contextlib
import itertools
import logging
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import cast
from xml.sax.saxutils import escape, quoteattr

from bridge.devservers.ports import LOOPBACK

CLIENT_NS = "jabber:client"
STREAM_NS = "http://etherx.jabber.org/streams"
SASL_NS = "urn:ietf:params:xml:ns:xmpp-sasl"
BIND_NS = "urn:ietf:params:xml:ns:xmpp-bind"
STANZA_ERROR_NS = "urn:ietf:params:xml:ns:xmpp-stanzas"
MUC_NS = "http://jabber.org/protocol/muc"
MUC_USER_NS = "http://jabber.org/protocol/muc#user"
COMMANDS_NS = "http://jabber.org/protocol/commands"
DATA_NS = "jabber:x:data"
PING_NS = "urn:xmpp:ping"

_log = logging.getLogger(__name__)

READ_SIZE = 65536
CONNECT_TIMEOUT = 30.0
CLOSE_TIMEOUT = 5.0
_STANZA_NAMES = {f"{{{CLIENT_NS}}}{name}": name for name in ("message", "presence", "iq")}
_BODY = f"{{{CLIENT_NS}}}body"


class XmppError(Exception):
    """A step of the XMPP conversation failed; the message names the step and the reason."""


@dataclass(frozen=True)
class Stanza:
    """What a benchmark needs of a received stanza; `element` holds the rest."""

    name: str
    from_: str
    type: str
    id: str
    body: str | None
    element: ET.Element


def groupchat(to: str, body: str) -> str:
    """The XML text of a groupchat message."""
    return f"<message type='groupchat' to={quoteattr(to)}><body>{escape(body)}</body></message>"


def chat(to: str, body: str) -> str:
    """The XML text of a one-to-one chat message."""
    return f"<message type='chat' to={quoteattr(to)}><body>{escape(body)}</body></message>"


def error_reason(element: ET.Element) -> str:
    """'<condition> <text>' of a stanza's <error/>, for exception messages."""
    error = element.find(f"{{{CLIENT_NS}}}error")
    if error is None:
        return "no <error/> element"
    condition = next(
        (
            child.tag.rpartition("}")[2]
            for child in error
            if child.tag.startswith(f"{{{STANZA_ERROR_NS}}}") and not child.tag.endswith("}text")
        ),
        "undefined-condition",
    )
    text = error.findtext(f"{{{STANZA_ERROR_NS}}}text")
    return f"{condition} {text}" if text else condition


def _new_parser() -> "ET.XMLPullParser[ET.Element]":
    return ET.XMLPullParser(("start", "end"))


def _bare(jid: str) -> str:
    return jid.partition("/")[0].lower()


def data_form(fields: Mapping[str, str | list[str]]) -> str:
    """The XML text of a submitted XEP-0004 form (jabber:x:data) with these values."""
    parts = ["<x xmlns='jabber:x:data' type='submit'>"]
    for var, value in fields.items():
        values = [value] if isinstance(value, str) else value
        parts.append(f"<field var={quoteattr(var)}>")
        parts.extend(f"<value>{escape(item)}</value>" for item in values)
        parts.append("</field>")
    parts.append("</x>")
    return "".join(parts)


def _form_values(form: ET.Element) -> dict[str, str | list[str]]:
    """The current values of a received form's fields, as a client submits them back."""
    values: dict[str, str | list[str]] = {}
    for field in form.iter(f"{{{DATA_NS}}}field"):
        var = field.get("var")
        if var is None or field.get("type") == "fixed":
            continue
        items = [item.text or "" for item in field.iter(f"{{{DATA_NS}}}value")]
        multi = field.get("type") in ("list-multi", "jid-multi", "text-multi")
        values[var] = items if multi else (items[0] if items else "")
    return values


class XmppClient:
    """One c2s connection; build it with `await XmppClient.connect(...)`.

    `on_stanza` sees every message and presence; iq results go to the `iq()` awaiting them.
    """

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, domain: str
    ) -> None:
        self.jid = ""
        self.on_stanza: Callable[[Stanza], None] | None = None
        self._reader = reader
        self._writer = writer
        self._domain = domain
        self._parser = _new_parser()
        self._depth = 0
        self._root: ET.Element | None = None
        self._backlog: list[ET.Element] = []  # read during login, past the element awaited
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[Stanza]] = {}
        self._joins: dict[str, asyncio.Future[None]] = {}
        self._reader_task: asyncio.Task[None] | None = None
        self._closed: XmppError | None = None

    @classmethod
    async def connect(
        cls,
        port: int,
        domain: str,
        username: str,
        password: str = "bench",
        resource: str = "bench",
    ) -> "XmppClient":
        """Log in (SASL PLAIN, no TLS), bind `resource`, send initial presence."""
        what = f"XMPP login of {username}@{domain}"
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                reader, writer = await asyncio.open_connection(LOOPBACK, port)
                client = cls(reader, writer, domain)
                try:
                    await client._log_in(username, password, resource)
                except BaseException:
                    writer.close()
                    raise
        except TimeoutError:
            raise XmppError(f"{what} timed out after {CONNECT_TIMEOUT:g} s") from None
        except OSError as error:
            raise XmppError(f"{what} could not connect to port {port}: {error}") from error
        except (XmppError, ET.ParseError) as error:
            raise XmppError(f"{what} failed: {error}") from None
        client._reader_task = asyncio.create_task(client._read_loop(), name=f"xmpp {client.jid}")
        return client

    def send(self, xml: str) -> None:
        """Queue XML text on the socket; `drain()` waits for the socket to take it."""
        self._writer.write(xml.encode())

    async def drain(self) -> None:
        await self._writer.drain()

    def next_id(self) -> str:
        """A stanza id unique on this connection."""
        return f"b{next(self._ids)}"

    async def iq(self, to: str, type: str, payload: str, timeout: float = 30) -> Stanza:  # noqa: ASYNC109
        """Send an iq and return its result; an error answer raises XmppError with its reason."""
        if self._closed is not None:
            raise self._closed
        iq_id = self.next_id()
        future: asyncio.Future[Stanza] = asyncio.get_running_loop().create_future()
        self._pending[iq_id] = future
        self.send(f"<iq type={quoteattr(type)} to={quoteattr(to)} id='{iq_id}'>{payload}</iq>")
        try:
            async with asyncio.timeout(timeout):
                answer = await future
        except TimeoutError:
            raise XmppError(f"iq {type} to {to} got no answer within {timeout:g} s") from None
        finally:
            self._pending.pop(iq_id, None)
        if answer.type == "error":
            raise XmppError(f"iq {type} to {to} failed: {error_reason(answer.element)}")
        return answer

    async def join_muc(self, room_jid: str, nick: str, timeout: float = 30) -> None:  # noqa: ASYNC109
        """Enter a room without history; return at our own presence (status 110)."""
        if self._closed is not None:
            raise self._closed
        room = _bare(room_jid)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._joins[room] = future
        self.send(
            f"<presence to={quoteattr(f'{room_jid}/{nick}')}><x xmlns='{MUC_NS}'>"
            "<history maxstanzas='0'/></x></presence>"
        )
        try:
            async with asyncio.timeout(timeout):
                await future
        except TimeoutError:
            raise XmppError(
                f"join of {room_jid} got no self-presence within {timeout:g} s"
            ) from None
        finally:
            self._joins.pop(room, None)

    async def command(self, to: str, node: str, fields: Mapping[str, str | list[str]]) -> Stanza:
        """Run an XEP-0050 command: execute, then submit its form with `fields` filled in.

        Fields the form offers and `fields` does not name keep the form's values. A completed
        command whose note is of type 'error' raises XmppError.
        """
        first = await self.iq(
            to, "set", f"<command xmlns='{COMMANDS_NS}' node={quoteattr(node)} action='execute'/>"
        )
        answer = first
        command = first.element.find(f"{{{COMMANDS_NS}}}command")
        form = None if command is None else command.find(f"{{{DATA_NS}}}x")
        if command is not None and form is not None and command.get("status") == "executing":
            session = command.get("sessionid", "")
            values = {**_form_values(form), **fields}
            answer = await self.iq(
                to,
                "set",
                f"<command xmlns='{COMMANDS_NS}' node={quoteattr(node)} "
                f"sessionid={quoteattr(session)}>{data_form(values)}</command>",
            )
        for note in answer.element.iter(f"{{{COMMANDS_NS}}}note"):
            if note.get("type") == "error":
                raise XmppError(f"command {node} on {to} failed: {note.text or ''}")
        return answer

    async def close(self) -> None:
        """End the stream and the connection."""
        if self._closed is None:
            self._closed = XmppError(f"XMPP stream of {self.jid} was closed by the client")
            with contextlib.suppress(ConnectionError):
                self._writer.write(b"</stream:stream>")
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader_task
        self._writer.close()
        with contextlib.suppress(ConnectionError, TimeoutError):
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self._writer.wait_closed()

    # Login: each step reads top-level elements until the one it needs.

    async def _log_in(self, username: str, password: str, resource: str) -> None:
        self._open_stream()
        await self._features()
        secret = base64.b64encode(f"\0{username}\0{password}".encode()).decode()
        self.send(f"<auth xmlns='{SASL_NS}' mechanism='PLAIN'>{secret}</auth>")
        outcome = await self._next_element()
        if outcome.tag != f"{{{SASL_NS}}}success":
            reason = next((child.tag.rpartition("}")[2] for child in outcome), "no reason")
            raise XmppError(f"SASL PLAIN refused: {reason}")
        self._parser = _new_parser()
        self._depth = 0
        self._open_stream()
        features = await self._features()
        if features.find(f"{{{BIND_NS}}}bind") is None:
            raise XmppError("the server offers no resource binding")
        self.send(
            f"<iq type='set' id='bind'><bind xmlns='{BIND_NS}'>"
            f"<resource>{escape(resource)}</resource></bind></iq>"
        )
        bound = await self._next_element()
        if bound.get("type") != "result":
            raise XmppError(f"resource binding failed: {error_reason(bound)}")
        self.jid = bound.findtext(f"{{{BIND_NS}}}bind/{{{BIND_NS}}}jid") or ""
        if not self.jid:
            raise XmppError("resource binding answered without a JID")
        self.send("<presence/>")

    def _open_stream(self) -> None:
        self.send(
            f"<?xml version='1.0'?><stream:stream xmlns='{CLIENT_NS}' "
            f"xmlns:stream='{STREAM_NS}' to={quoteattr(self._domain)} version='1.0'>"
        )

    async def _features(self) -> ET.Element:
        features = await self._next_element()
        if features.tag != f"{{{STREAM_NS}}}features":
            raise XmppError(f"expected stream features, got {features.tag}")
        return features

    async def _next_element(self) -> ET.Element:
        while not self._backlog:
            self._backlog = self._feed(await self._read())
        return self._backlog.pop(0)

    async def _read(self) -> bytes:
        data = await self._reader.read(READ_SIZE)
        if not data:
            raise XmppError("the server closed the connection")
        return data

    def _feed(self, data: bytes) -> list[ET.Element]:
        """Parse `data`; return the top-level elements it completed, detached from the tree."""
        self._parser.feed(data)
        done: list[ET.Element] = []
        events = cast("Iterator[tuple[str, ET.Element]]", self._parser.read_events())
        for event, element in events:
            if event == "start":
                self._depth += 1
                if self._depth == 1:
                    if element.tag != f"{{{STREAM_NS}}}stream":
                        raise XmppError(f"expected a stream header, got {element.tag}")
                    self._root = element
            else:
                self._depth -= 1
                if self._depth == 1:
                    assert self._root is not None
                    self._root.remove(element)
                    if element.tag == f"{{{STREAM_NS}}}error":
                        condition = next((c.tag.rpartition("}")[2] for c in element), "unknown")
                        raise XmppError(f"stream error: {condition}")
                    done.append(element)
                elif self._depth == 0:
                    raise XmppError("the server ended the stream")
        return done

    # After login: one task reads and dispatches.

    async def _read_loop(self) -> None:
        try:
            for element in self._backlog:
                self._dispatch(element)
            self._backlog = []
            while True:
                for element in self._feed(await self._read()):
                    self._dispatch(element)
        except (XmppError, ConnectionError, ET.ParseError) as error:
            self._end(str(error))
        except Exception as error:  # a bug in on_stanza: loud, and the waiters are told
            _log.exception("handling a stanza for %s failed", self.jid)
            self._end(repr(error))

    def _end(self, reason: str) -> None:
        if self._closed is None:
            self._closed = XmppError(f"XMPP stream of {self.jid} ended: {reason}")
        error = self._closed
        waiters: list[asyncio.Future[Stanza]] | list[asyncio.Future[None]]
        for waiters in (list(self._pending.values()), list(self._joins.values())):
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(error)

    def _dispatch(self, element: ET.Element) -> None:
        name = _STANZA_NAMES.get(element.tag)
        if name is None:
            return
        stanza = Stanza(
            name,
            element.get("from", ""),
            element.get("type", ""),
            element.get("id", ""),
            element.findtext(_BODY) if name == "message" else None,
            element,
        )
        if name == "iq":
            self._on_iq(stanza)
            return
        if name == "presence" and self._joins:
            self._check_join(stanza)
        if self.on_stanza is not None:
            self.on_stanza(stanza)

    def _on_iq(self, stanza: Stanza) -> None:
        if stanza.type in ("result", "error"):
            waiter = self._pending.get(stanza.id)
            if waiter is not None and not waiter.done():
                waiter.set_result(stanza)
            return
        # A request to us: answer pings, refuse the rest as RFC 6120 requires.
        to = f" to={quoteattr(stanza.from_)}" if stanza.from_ else ""
        if stanza.element.find(f"{{{PING_NS}}}ping") is not None:
            self.send(f"<iq type='result' id={quoteattr(stanza.id)}{to}/>")
        else:
            self.send(
                f"<iq type='error' id={quoteattr(stanza.id)}{to}><error type='cancel'>"
                f"<service-unavailable xmlns='{STANZA_ERROR_NS}'/></error></iq>"
            )

    def _check_join(self, stanza: Stanza) -> None:
        waiter = self._joins.get(_bare(stanza.from_))
        if waiter is None or waiter.done():
            return
        if stanza.type == "error":
            room = _bare(stanza.from_)
            waiter.set_exception(
                XmppError(f"join of {room} refused: {error_reason(stanza.element)}")
            )
            return
        for status in stanza.element.iter(f"{{{MUC_USER_NS}}}status"):
            if status.get("code") == "110":
                waiter.set_result(None)
                return
