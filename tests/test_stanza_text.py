"""The component stream's serialiser writes what slixmpp writes, for every kind of stanza the
gateway sends (slixmpp's tostring, after moving the stanza's own elements to the stream's
namespace, is the reference)."""

import copy
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

import pytest
from slixmpp import ComponentXMPP
from slixmpp.stanza import Iq, Message, Presence
from slixmpp.xmlstream import StanzaBase
from slixmpp.xmlstream.tostring import tostring

from bridge.errors import XmppError
from bridge.events import Affiliation, Occupant, Role
from bridge.muc.stanzas import error_stanza, occupant_presence, room_message
from bridge.stanza_text import escape, stanza_text

COMPONENT_NS = "jabber:component:accept"
ROOM = "#chan%irc.example.org@irc.gw.example"


def reference(stanza: StanzaBase, xmpp: ComponentXMPP) -> str:
    """slixmpp's text for *stanza* once its own jabber:client elements are the stream's."""
    xml = copy.deepcopy(stanza.xml)
    client, own = "{jabber:client}", "{" + COMPONENT_NS + "}"
    pending = [xml]
    while pending:
        element = pending.pop()
        if element.tag.startswith(client):
            element.tag = own + element.tag[len(client) :]
        if element.tag.startswith(own):
            pending.extend(element)
    return tostring(xml, xmlns=COMPONENT_NS, stream=xmpp, top_level=True)


def live_message() -> Message:
    message = room_message(
        origin=f"{ROOM}/a'b\"c",
        to="user@example.org/res",
        body="<b>fish & chips</b> > 'all' \"of it\"\n\ttabbed",
        message_id="id-1",
        stanza_id="sid-1",
        room_jid=ROOM,
        when=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        origin_id="origin-1",
    )
    ET.SubElement(message.xml, "{urn:xmpp:reply:0}reply", {"id": "x", "to": f"{ROOM}/b"})
    return message


def presence() -> Presence:
    return occupant_presence(
        origin=f"{ROOM}/nick",
        to="user@example.org/res",
        occupant=Occupant("nick", Role.PARTICIPANT, Affiliation.MEMBER, None),
        real_jid="user@example.org/res",
        codes=[110, 100],
        reason="gone & back",
    )


def mam_result() -> Message:
    """A forwarded jabber:client message inside a stanza of the stream's namespace."""
    outer = Message(stream=None)
    outer["to"] = "user@example.org/res"
    outer.xml.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    result = ET.SubElement(outer.xml, "{urn:xmpp:mam:2}result", {"id": "r1"})
    forwarded = ET.SubElement(result, "{urn:xmpp:forward:0}forwarded")
    ET.SubElement(forwarded, "{urn:xmpp:delay}delay", {"stamp": "2026-01-01T00:00:00Z"})
    inner = ET.SubElement(forwarded, "{jabber:client}message", {"type": "groupchat"})
    ET.SubElement(inner, "{jabber:client}body").text = "old & forwarded"
    return outer


def error_reply_in_stream_namespace(xmpp: ComponentXMPP) -> Iq:
    """A stanza parsed from the stream (its own namespace) with a jabber:client child."""
    iq = Iq(xmpp, ET.fromstring(f"<iq xmlns='{COMPONENT_NS}' type='get' id='q1'/>"))
    error = ET.SubElement(iq.xml, "{jabber:client}error", {"type": "cancel"})
    ET.SubElement(error, "{urn:ietf:params:xml:ns:xmpp-stanzas}item-not-found")
    text = ET.SubElement(error, "{urn:ietf:params:xml:ns:xmpp-stanzas}text")
    text.text = "no <such> thing"
    text.tail = "tail & more"
    return iq


@pytest.mark.parametrize(
    "build",
    [
        lambda xmpp: live_message(),
        lambda xmpp: presence(),
        lambda xmpp: mam_result(),
        error_reply_in_stream_namespace,
        lambda xmpp: error_stanza(
            Presence,
            origin=f"{ROOM}/nick",
            to="u@example.org/r",
            stanza_id=None,
            error=XmppError("cancel", "conflict"),
            text="taken",
        ),
    ],
    ids=["room message", "presence", "MAM result", "error in stream namespace", "error"],
)
def test_the_text_is_what_slixmpp_writes(build: object) -> None:
    xmpp = ComponentXMPP("irc.gw.example", "secret")
    stanza = build(xmpp)  # type: ignore[operator]
    assert stanza_text(stanza.xml, COMPONENT_NS) == reference(stanza, xmpp)


def test_the_forwarded_message_keeps_its_namespace_and_the_stanza_names_none() -> None:
    text = stanza_text(mam_result().xml, COMPONENT_NS)
    assert text.startswith('<message to="user@example.org/res" xml:lang="en">')
    assert '<message xmlns="jabber:client" type="groupchat">' in text


def test_escaping_covers_the_five_special_characters() -> None:
    assert escape("a&b<c>d'e\"f") == "a&amp;b&lt;c&gt;d&apos;e&quot;f"
    assert escape("plain") == "plain"
