"""The component link on the wire: it acknowledges at once, so a server keeping Nagle's
algorithm (as Prosody does by default) never holds its next stanza for our delayed ACK,
and what it writes at once never overtakes what slixmpp still has to send."""

from __future__ import annotations

import asyncio
import socket
import statistics
import time

from slixmpp import ComponentXMPP
from slixmpp.stanza import Message

from bridge.link import ComponentLink
from tests.waiting import wait_until

STREAM = (
    b"<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept'"
    b" xmlns:stream='http://etherx.jabber.org/streams' id='s1' from='gw.example'>"
)
ROUNDS = 20
REPLY_AFTER = 0.03


class NagleServer:
    """A XEP-0114 server that accepts any secret and writes with Nagle's algorithm on."""

    def __init__(self) -> None:
        self.writer: asyncio.StreamWriter | None = None
        self.received = bytearray()
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self._server is not None:
            self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0)
        received = b""
        while b"<stream:stream" not in received:
            received += await reader.read(4096)
        writer.write(STREAM)
        while b"</handshake>" not in received:
            received += await reader.read(4096)
        writer.write(b"<handshake/>")
        self.writer = writer
        while data := await reader.read(4096):
            self.received += data

    def say(self, body: str) -> float:
        assert self.writer is not None
        stanza = f"<message to='u@gw.example' from='a@b'><body>{body}</body></message>"
        self.writer.write(stanza.encode())
        return time.perf_counter()


async def test_a_stanza_written_right_after_another_is_not_held_for_our_ack() -> None:
    server = NagleServer()
    port = await server.start()
    xmpp = ComponentXMPP("gw.example", "secret")
    link = ComponentLink(xmpp, "127.0.0.1", port)
    arrivals: asyncio.Queue[tuple[str, float]] = asyncio.Queue()

    def on_message(message: Message) -> None:
        arrivals.put_nowait((message["body"], time.perf_counter()))
        # The gateway answers (the room's echo) only once it relayed the message.
        asyncio.get_running_loop().call_later(REPLY_AFTER, link.send, message.reply("seen"))

    xmpp.add_event_handler("message", on_message)
    link.start()
    try:
        await wait_until(link.up.is_set, 10, "component connected")
        delays = []
        for number in range(ROUNDS):
            server.say(f"a{number}")
            assert (await asyncio.wait_for(arrivals.get(), 5))[0] == f"a{number}"
            sent = server.say(f"b{number}")  # Nagle holds it until a{number} is acknowledged
            body, arrived = await asyncio.wait_for(arrivals.get(), 5)
            assert body == f"b{number}"
            delays.append(arrived - sent)
            await asyncio.sleep(REPLY_AFTER)  # both answered: the next round starts clean
        # Without an ACK at once, b waits for the answer to a, which carries the ACK.
        assert statistics.median(delays) < REPLY_AFTER / 3, delays
    finally:
        await link.close()
        await server.close()


async def test_a_stanza_sent_while_slixmpp_has_some_waiting_goes_behind_them() -> None:
    server = NagleServer()
    port = await server.start()
    xmpp = ComponentXMPP("gw.example", "secret")
    link = ComponentLink(xmpp, "127.0.0.1", port)
    link.start()
    try:
        await wait_until(link.up.is_set, 10, "component connected")
        xmpp.send("<presence from='gw.example' to='a@b'/>")  # slixmpp's own queue
        message = Message()
        message["to"], message["body"] = "a@b", "after the presence"
        link.send(message)
        await wait_until(lambda: b"after the presence" in server.received, 5, "the message")
        assert server.received.index(b"<presence") < server.received.index(b"<message")
    finally:
        await link.close()
        await server.close()
