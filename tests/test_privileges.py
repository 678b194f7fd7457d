"""XEP-0356 advertisements read right, and the stanzas built for roster, bookmarks, fallbacks."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from slixmpp import ComponentXMPP
from slixmpp.stanza import Message
from slixmpp.xmlstream import StanzaBase

from bridge.privileges import (
    NS_BOOKMARKS,
    NS_CLIENT,
    NS_CONFERENCE,
    NS_DATA,
    NS_PRIVILEGE,
    NS_PUBSUB,
    NS_ROSTER,
    Bookmark,
    Grants,
    PrivilegeError,
    Privileges,
    RosterItem,
    Via,
    bookmark_publish,
    bookmark_retract,
    forwarded_failure,
    invitation,
    parse_advertisement,
    privileged_iq,
    roster_query,
    subscription,
)

# What Prosody's mod_privilege sends a component granted everything (captured from it).
PROSODY_ADVERTISEMENT = (
    f"<privilege xmlns='{NS_PRIVILEGE}'><perm access='roster' type='both'/>"
    "<perm access='message' type='outgoing'/><perm access='presence' type='roster'/>"
    f"<perm access='iq'><namespace ns='{NS_PUBSUB}' type='set'/></perm></privilege>"
)
ROOM = "#chan%irc.example@gw.localhost"


def test_prosodys_advertisement_grants_roster_writes_and_pubsub_sets() -> None:
    grants = parse_advertisement(ET.fromstring(PROSODY_ADVERTISEMENT))
    assert grants == Grants("both", "outgoing", "roster", frozenset({(NS_PUBSUB, "set")}))
    assert grants.writes_roster()
    assert grants.allows_iq(NS_PUBSUB, "set")
    assert not grants.allows_iq(NS_PUBSUB, "get")
    assert not grants.allows_iq(NS_ROSTER, "set")


def test_both_covers_get_and_set_and_read_only_roster_does_not_write() -> None:
    text = (
        f"<privilege xmlns='{NS_PRIVILEGE}'><perm access='roster' type='get'/>"
        f"<perm access='iq'><namespace ns='{NS_PUBSUB}' type='both'/></perm></privilege>"
    )
    grants = parse_advertisement(ET.fromstring(text))
    assert not grants.writes_roster()
    assert grants.allows_iq(NS_PUBSUB, "get") and grants.allows_iq(NS_PUBSUB, "set")


def test_an_empty_advertisement_grants_nothing_and_unknown_accesses_are_ignored() -> None:
    text = f"<privilege xmlns='{NS_PRIVILEGE}'><perm access='future' type='all'/></privilege>"
    assert parse_advertisement(ET.fromstring(text)) == Grants()


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (
            f"<privilege xmlns='{NS_PRIVILEGE}'><perm access='roster' type='all'/></privilege>",
            "'all'",
        ),
        (
            f"<privilege xmlns='{NS_PRIVILEGE}'><perm access='iq'><namespace type='set'/></perm>"
            "</privilege>",
            "'ns'",
        ),
        ("<privilege xmlns='urn:xmpp:privilege:1'/>", "urn:xmpp:privilege:1"),
    ],
)
def test_a_malformed_advertisement_is_refused_naming_what_is_wrong(text: str, named: str) -> None:
    with pytest.raises(PrivilegeError, match=named):
        parse_advertisement(ET.fromstring(text))


def test_a_roster_item_carries_name_groups_and_subscription() -> None:
    query = roster_query(RosterItem("bob%irc.example@gw", "Bob", ("IRC", "Friends")))
    item = query.find(f"{{{NS_ROSTER}}}item")
    assert item is not None
    assert item.attrib == {"jid": "bob%irc.example@gw", "name": "Bob", "subscription": "both"}
    assert [g.text for g in item.iterfind(f"{{{NS_ROSTER}}}group")] == ["IRC", "Friends"]
    removal = roster_query(RosterItem("bob%irc.example@gw", subscription="remove"))
    assert removal[0].attrib == {"jid": "bob%irc.example@gw", "subscription": "remove"}


def test_a_bookmark_publish_is_private_and_persistent_as_xep_0402_requires() -> None:
    pubsub = bookmark_publish(Bookmark(ROOM, "#chan", "alice", autojoin=True))
    item = pubsub.find(f"{{{NS_PUBSUB}}}publish[@node='{NS_BOOKMARKS}']/{{{NS_PUBSUB}}}item")
    assert item is not None and item.get("id") == ROOM
    conference = item.find(f"{{{NS_BOOKMARKS}}}conference")
    assert conference is not None
    assert conference.attrib == {"autojoin": "true", "name": "#chan"}
    assert conference.findtext(f"{{{NS_BOOKMARKS}}}nick") == "alice"
    form = pubsub.find(f"{{{NS_PUBSUB}}}publish-options/{{{NS_DATA}}}x")
    assert form is not None and form.get("type") == "submit"
    options = {f.get("var"): f.findtext(f"{{{NS_DATA}}}value") for f in form}
    assert options == {
        "FORM_TYPE": "http://jabber.org/protocol/pubsub#publish-options",
        "pubsub#persist_items": "true",
        "pubsub#max_items": "max",
        "pubsub#send_last_published_item": "never",
        "pubsub#access_model": "whitelist",
    }


def test_a_bookmark_without_nick_or_autojoin_says_so() -> None:
    conference = bookmark_publish(Bookmark(ROOM)).find(f".//{{{NS_BOOKMARKS}}}conference")
    assert conference is not None
    assert conference.attrib == {"autojoin": "false"} and len(conference) == 0


def test_a_retraction_notifies_the_users_clients() -> None:
    retract = bookmark_retract(ROOM).find(f"{{{NS_PUBSUB}}}retract")
    assert retract is not None
    assert retract.attrib == {"node": NS_BOOKMARKS, "notify": "true"}
    assert [item.get("id") for item in retract] == [ROOM]


def test_a_privileged_iq_is_the_users_own_iq_in_the_client_namespace() -> None:
    payload = bookmark_retract(ROOM)
    wrapper = privileged_iq("alice@localhost", "set", payload)
    assert wrapper.tag == f"{{{NS_PRIVILEGE}}}privileged_iq"
    (inner,) = list(wrapper)
    assert inner.tag == f"{{{NS_CLIENT}}}iq"
    assert inner.get("type") == "set" and inner.get("id")
    assert inner.get("from") == inner.get("to") == "alice@localhost"
    assert list(inner) == [payload]


def test_an_error_forwarded_from_the_users_account_is_reported() -> None:
    def reply(inner_type: str, error: str = "") -> ET.Element:
        return ET.fromstring(
            f"<iq xmlns='jabber:component:accept' type='result'><privilege xmlns='{NS_PRIVILEGE}'>"
            "<forwarded xmlns='urn:xmpp:forward:0'>"
            f"<iq xmlns='{NS_CLIENT}' type='{inner_type}'>{error}</iq></forwarded></privilege></iq>"
        )

    assert forwarded_failure(reply("result")) is None
    stanzas = "urn:ietf:params:xml:ns:xmpp-stanzas"
    refused = f"<error type='cancel'><forbidden xmlns='{stanzas}'/></error>"
    assert forwarded_failure(reply("error", refused)) == "forbidden"


def test_the_fallback_invitation_is_xep_0249_with_a_readable_body() -> None:
    message = invitation("gw.localhost", "alice@localhost", Bookmark(ROOM, "#chan"))
    assert message["from"] == "gw.localhost" and message["to"] == "alice@localhost"
    x = message.xml.find(f"{{{NS_CONFERENCE}}}x")
    assert x is not None and x.get("jid") == ROOM
    assert message["body"] == f"Join #chan: xmpp:{ROOM}?join"


def test_the_fallback_subscription_request_comes_from_the_contact_with_its_name() -> None:
    request = subscription("alice@localhost", "bob%irc.example@gw", "subscribe", "Bob")
    assert (request["from"], request["to"], request["type"]) == (
        "bob%irc.example@gw",
        "alice@localhost",
        "subscribe",
    )
    assert request.xml.findtext("{http://jabber.org/protocol/nick}nick") == "Bob"
    ending = subscription("alice@localhost", "bob%irc.example@gw", "unsubscribed", "Bob")
    assert ending.xml.find("{http://jabber.org/protocol/nick}nick") is None


class Sent(list[StanzaBase]):
    def __call__(self, stanza: StanzaBase) -> None:
        self.append(stanza)


def service() -> tuple[Privileges, Sent]:
    sent = Sent()
    xmpp = ComponentXMPP("gw.localhost", "secret")
    return Privileges(xmpp=xmpp, gateway_jid="gw.localhost", send=sent), sent


def advertisement(sender: str) -> Message:
    message = Message()
    message["from"], message["to"] = sender, "gw.localhost"
    message.xml.append(ET.fromstring(PROSODY_ADVERTISEMENT))
    return message


def test_grants_belong_to_the_server_that_advertised_them_and_only_to_a_server() -> None:
    privileges, _ = service()
    privileges.on_advertisement(advertisement("mallory@localhost/phone"))
    privileges.on_advertisement(advertisement("gw.localhost"))
    assert not privileges.writes_bookmarks("alice@localhost")
    privileges.on_advertisement(advertisement("localhost"))
    assert privileges.writes_bookmarks("alice@localhost")
    assert privileges.granted("alice@localhost").writes_roster()
    assert privileges.granted("bob@elsewhere.example") == Grants()


async def test_without_grants_the_fallbacks_go_out_and_say_so() -> None:
    privileges, sent = service()
    assert await privileges.add_bookmark("alice@localhost", ROOM, "#chan") is Via.INVITATION
    assert await privileges.remove_bookmark("alice@localhost", ROOM) is Via.NOTHING
    assert await privileges.add_contact("alice@localhost", "bob@gw.localhost") is Via.SUBSCRIPTION
    assert await privileges.remove_contact("alice@localhost", "bob@gw.localhost") is (
        Via.SUBSCRIPTION
    )
    assert [(s.name, s["type"]) for s in sent] == [
        ("message", "normal"),
        ("presence", "subscribe"),
        ("presence", "unsubscribe"),
        ("presence", "unsubscribed"),
    ]


@pytest.mark.parametrize("jid", ["bob@gw.localhost/phone", "@@", ""])
async def test_a_contact_that_is_not_a_bare_jid_is_refused_naming_it(jid: str) -> None:
    privileges, sent = service()
    with pytest.raises(ValueError, match="contact JID"):
        await privileges.add_contact("alice@localhost", jid)
    assert not sent
