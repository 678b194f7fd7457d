"""XEP-0045 admin requests as a client sends them: shared by the IRC and Matrix room tests."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from slixmpp.stanza import Iq

from tests.xmpp_client import XmppClient

NS_MUC_ADMIN = "http://jabber.org/protocol/muc#admin"


async def admin_set(client: XmppClient, room: str, **item: str) -> Iq:
    """A muc#admin ``set`` of one item (nick or jid, role, affiliation, reason); the answer."""
    iq = client.Iq()
    iq["to"] = room
    iq["type"] = "set"
    query = ET.SubElement(iq.xml, f"{{{NS_MUC_ADMIN}}}query")
    ET.SubElement(query, f"{{{NS_MUC_ADMIN}}}item", item)
    return await client.iq(iq)
