"""Ad-hoc commands through a real Prosody: a client configures a server JID of the gateway."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator

import pytest
from pydantic import BaseModel, Field
from slixmpp import JID, ComponentXMPP
from slixmpp.plugins.xep_0004 import Form
from slixmpp.stanza import Iq

from bridge.addressing import AddressGrammar
from bridge.commands import CommandService
from bridge.devservers import ComponentSpec, Prosody
from bridge.devservers.ports import LOOPBACK
from bridge.network import CommandContext, NetworkCommand
from bridge.routing import locate
from tests.conftest import XmppUserFactory
from tests.memory_store import MemoryStore
from tests.xmpp_client import XmppClient

CONNECT_TIMEOUT = 10.0


class Configure(BaseModel):
    nick: str = Field(title="Nickname")
    port: int = Field(6667, ge=1, le=65535, title="Port")


@pytest.fixture
async def gateway(prosody: Prosody, component: ComponentSpec) -> AsyncIterator[ComponentXMPP]:
    xmpp = ComponentXMPP(component.domain, component.secret, LOOPBACK, prosody.component_port)
    started = asyncio.Event()
    xmpp.add_event_handler("session_start", lambda _: started.set())
    xmpp.connect()
    try:
        await asyncio.wait_for(started.wait(), CONNECT_TIMEOUT)
    except TimeoutError:
        xmpp.abort()
        raise AssertionError(
            f"component {component.domain} did not attach to Prosody within {CONNECT_TIMEOUT:g} s"
        ) from None
    yield xmpp
    await asyncio.wait_for(xmpp.disconnect(), CONNECT_TIMEOUT)


def command_request(client: XmppClient, to: str, action: str = "execute", **fields: str) -> Iq:
    iq: Iq = client.Iq()
    iq["type"] = "set"
    iq["to"] = to
    iq["command"]["node"] = "configure"
    iq["command"]["action"] = action
    if fields:
        form = Form()
        form["type"] = "submit"
        form["values"] = fields
        iq["command"].append(form)
    return iq


async def test_configure_a_server_through_prosody(
    gateway: ComponentXMPP, xmpp_user: XmppUserFactory
) -> None:
    ran: list[tuple[CommandContext, BaseModel]] = []

    async def run(context: CommandContext, settings: BaseModel) -> str:
        ran.append((context, settings))
        return "Saved: reconnect to use the new settings."

    service = CommandService(
        gateway,
        locate=functools.partial(locate, grammar=AddressGrammar()),
        is_admin=lambda bare: False,
        session_of=lambda bare: None,
        store_for=lambda bare: MemoryStore(),
    )
    service.add(NetworkCommand("configure", "Configure", Configure, "server", run))
    alice = await xmpp_user("alice")
    server_jid = f"irc.example.net@{gateway.boundjid.bare}"

    opened = await alice.iq(command_request(alice, server_jid))
    assert opened["type"] == "result", opened
    assert opened["command"]["status"] == "executing"
    session = opened["command"]["sessionid"]
    assert set(opened["command"]["form"].get_fields()) == {"nick", "port"}

    second = await xmpp_user(account=alice.boundjid.user, resource="laptop")
    stolen = command_request(second, server_jid, "complete", nick="mallory")
    stolen["command"]["sessionid"] = session
    refused = await second.iq(stolen)
    assert refused["type"] == "error"
    assert refused["error"]["condition"] == "bad-request"

    wrong = command_request(alice, server_jid, "complete", nick="alice", port="abc")
    wrong["command"]["sessionid"] = session
    again = await alice.iq(wrong)
    assert again["command"]["status"] == "executing"
    assert again["command"]["notes"] == [
        ("error", "Port: must be a whole number between 1 and 65535 (got 'abc')")
    ]

    right = command_request(alice, server_jid, "complete", nick="alice", port="6697")
    right["command"]["sessionid"] = session
    done = await alice.iq(right)
    assert done["command"]["status"] == "completed"
    assert done["command"]["notes"] == [("info", "Saved: reconnect to use the new settings.")]
    [(context, settings)] = ran
    assert context.user == JID(alice.boundjid.bare).bare
    assert settings == Configure(nick="alice", port=6697)
