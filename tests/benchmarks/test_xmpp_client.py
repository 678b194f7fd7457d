"""The XMPP measuring client against the session Prosody (and an in-process gateway)."""

import asyncio

import pytest

from benchmarks.xmpp_client import Stanza, XmppClient, XmppError, chat, groupchat
from bridge.devservers import Prosody
from tests.bridge_fixture import BridgeStarter
from tests.waiting import wait_until


async def test_two_clients_in_a_muc_exchange_a_message_and_iqs(prosody: Prosody) -> None:
    alice = await XmppClient.connect(prosody.c2s_port, prosody.domain, "benchalice")
    bob = await XmppClient.connect(prosody.c2s_port, prosody.domain, "benchbob")
    try:
        assert alice.jid == f"benchalice@{prosody.domain}/bench"
        room = f"benchroom@{prosody.muc_domain}"
        await alice.join_muc(room, "alice")
        await bob.join_muc(room, "bob")
        received: list[Stanza] = []
        bob.on_stanza = received.append

        def said_by_alice(stanza: Stanza) -> bool:
            return stanza.name == "message" and stanza.from_ == f"{room}/alice"

        alice.send(groupchat(room, "hello <bob> & all"))
        await alice.drain()
        await wait_until(
            lambda: any(said_by_alice(s) for s in received),
            message="bob receiving alice's groupchat message",
        )
        [message] = [s for s in received if said_by_alice(s)]
        assert (message.type, message.body) == ("groupchat", "hello <bob> & all")

        pong = await alice.iq(bob.jid, "get", "<ping xmlns='urn:xmpp:ping'/>")
        assert (pong.type, pong.from_) == ("result", bob.jid)
        with pytest.raises(XmppError, match="failed: service-unavailable"):
            await alice.iq(bob.jid, "get", "<query xmlns='jabber:iq:version'/>")
    finally:
        await alice.close()
        await bob.close()


async def test_a_refused_join_raises_with_the_condition(prosody: Prosody) -> None:
    alice = await XmppClient.connect(prosody.c2s_port, prosody.domain, "benchcarol")
    mallory = await XmppClient.connect(prosody.c2s_port, prosody.domain, "benchmallory")
    try:
        room = f"benchnicks@{prosody.muc_domain}"
        await alice.join_muc(room, "carol")
        with pytest.raises(XmppError, match=f"join of {room} refused: conflict"):
            await mallory.join_muc(room, "carol")
    finally:
        await alice.close()
        await mallory.close()


async def test_a_stream_error_at_login_is_named(prosody: Prosody) -> None:
    with pytest.raises(XmppError, match="stream error: host-unknown"):
        await XmppClient.connect(prosody.c2s_port, "nowhere.invalid", "benchdave")


async def test_command_submits_the_form_and_raises_on_an_error_note(
    prosody: Prosody, start_bridge: BridgeStarter
) -> None:
    gateway = await start_bridge()
    client = await XmppClient.connect(prosody.c2s_port, prosody.domain, "bencherin")
    try:
        done = await client.command(
            gateway.jid, "register", {"username": "erin", "password": "hunter2"}
        )
        assert done.element.find("{*}command[@status='completed']") is not None
        async with asyncio.timeout(10):
            with pytest.raises(XmppError, match="refused that password"):
                await client.command(
                    gateway.jid, "register", {"username": "erin", "password": "wrong"}
                )
    finally:
        await client.close()


async def test_a_failing_handler_ends_the_connection_loudly(
    prosody: Prosody, caplog: pytest.LogCaptureFixture
) -> None:
    alice = await XmppClient.connect(prosody.c2s_port, prosody.domain, "benchfrank")
    bob = await XmppClient.connect(prosody.c2s_port, prosody.domain, "benchgrace")

    def broken(stanza: Stanza) -> None:
        if stanza.name == "message":
            raise RuntimeError(f"cannot handle {stanza.body}")

    bob.on_stanza = broken
    try:
        alice.send(chat(bob.jid, "boom"))
        await wait_until(
            lambda: "handling a stanza for" in caplog.text, message="the failure logged"
        )
        with pytest.raises(XmppError, match=r"ended: RuntimeError\('cannot handle boom'\)"):
            await bob.iq(prosody.domain, "get", "<ping xmlns='urn:xmpp:ping'/>")
    finally:
        await alice.close()
        await bob.close()
