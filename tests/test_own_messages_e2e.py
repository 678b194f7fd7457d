"""The user's own 1:1 message from another legacy client, on a server that grants the
gateway XEP-0356 message permission: it arrives as a carbon of a message the user sent."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from slixmpp.stanza import Message
from slixmpp.xmlstream import StanzaBase

from bridge.addressing import ContactAddress
from bridge.events import MessageIn
from tests.bridge_fixture import Running
from tests.test_privileges_e2e import (  # noqa: F401  (module fixtures used here)
    Connect,
    privileged_prosody,
    privileged_run,
    privileged_user,
)
from tests.waiting import wait_until

NS_CARBONS = "urn:xmpp:carbons:2"
NS_FORWARD = "urn:xmpp:forward:0"


def sent_carbon(stanza: StanzaBase) -> StanzaBase | None:
    """The message inside a XEP-0280 <sent/> carbon, if *stanza* is one."""
    inner = stanza.xml.find(
        f"{{{NS_CARBONS}}}sent/{{{NS_FORWARD}}}forwarded/{{jabber:client}}message"
    )
    return Message(xml=inner) if isinstance(stanza, Message) and inner is not None else None


async def test_own_message_from_another_client_arrives_as_a_carbon_and_is_not_sent_again(
    privileged_run: Running,  # noqa: F811
    privileged_user: Connect,  # noqa: F811
) -> None:
    alice = await privileged_user("alice")
    enable = alice.Iq()
    enable["type"] = "set"
    ET.SubElement(enable.xml, f"{{{NS_CARBONS}}}enable")
    assert (await alice.iq(enable))["type"] == "result"
    user = alice.boundjid.bare
    bob = ContactAddress("loop.example", "bob")
    bob_jid = privileged_run.gateway.jid_of(bob)

    privileged_run.gateway.on_event(user, MessageIn(bob, "from my phone", own=True, legacy_id="p1"))

    carbon = await alice.wait_for(lambda s: sent_carbon(s) is not None)
    copied = sent_carbon(carbon)
    assert copied is not None
    assert (copied["from"].bare, str(copied["to"]), copied["body"]) == (
        user,
        bob_jid,
        "from my phone",
    )
    alice.make_message(mto=bob_jid, mbody="after", mtype="chat").send()
    world = privileged_run.world
    await wait_until(lambda: (user, "bob", "after") in world.private, 10, "the later message")
    assert (user, "bob", "from my phone") not in world.private
