"""Reading a client's relation elements and building the gateway's, without a server."""

from __future__ import annotations

from slixmpp.stanza import Message

from bridge.addressing import AddressGrammar, RoomAddress
from bridge.message_ids import MessageIds
from bridge.network import Capabilities
from bridge.relation_stanzas import (
    NS_CORRECT,
    NS_REACTIONS,
    NS_REPLY,
    NS_RETRACT,
    reactions_message,
    read_relations,
    relation_features,
    retraction_message,
    without_fallback,
)

REPLY_WITH_FALLBACK = (
    "<message xmlns='jabber:client' type='groupchat'><body>&gt; bob: hi\nyes</body>"
    f"<reply xmlns='{NS_REPLY}' id='s1' to='room@gw/bob'/>"
    "<fallback xmlns='urn:xmpp:fallback:0' for='urn:xmpp:reply:0'>"
    "<body start='0' end='10'/></fallback></message>"
)


def parse(xml: str) -> Message:
    from xml.etree import ElementTree as ET

    return Message(xml=ET.fromstring(xml))


def test_reply_fallback_is_read_and_can_be_cut() -> None:
    message = parse(REPLY_WITH_FALLBACK)
    relations = read_relations(message)
    assert relations.reply is not None
    assert (relations.reply.message_id, relations.reply.to) == ("s1", "room@gw/bob")
    assert relations.reply.fallback == "> bob: hi\n"
    assert without_fallback(message["body"], relations.reply) == "yes"


def test_reactions_keep_order_and_drop_blanks_and_repeats() -> None:
    message = parse(
        f"<message xmlns='jabber:client'><reactions xmlns='{NS_REACTIONS}' id='m1'>"
        "<reaction>👍</reaction><reaction> </reaction><reaction>🎉</reaction>"
        "<reaction>👍</reaction></reactions></message>"
    )
    relations = read_relations(message)
    assert (relations.reactions_to, relations.reactions) == ("m1", ("👍", "🎉"))
    assert relations.is_signal


def test_elements_without_an_id_count_as_absent() -> None:
    message = parse(
        f"<message xmlns='jabber:client'><body>x</body><replace xmlns='{NS_CORRECT}'/>"
        f"<retract xmlns='{NS_RETRACT}'/></message>"
    )
    relations = read_relations(message)
    assert relations.replaces is None and relations.retracts is None
    assert not relations.is_signal


def test_built_reactions_and_moderation_carry_ids_and_fallback_text() -> None:
    reaction = reactions_message(
        origin="r@gw/bob", to="a@h/x", kind="groupchat", target_id="s1", emojis=("👍",)
    )
    assert read_relations(reaction).reactions == ("👍",)
    removal = retraction_message(
        origin="r@gw",
        to="a@h/x",
        kind="groupchat",
        target_id="s1",
        moderator="r@gw/op",
        reason="spam",
    )
    assert read_relations(removal).retracts == "s1"
    assert removal["body"] == "This message was removed."
    assert "spam" in str(removal)


def test_features_follow_the_capabilities() -> None:
    assert relation_features(Capabilities()) == ()
    assert NS_REACTIONS in relation_features(Capabilities(reactions=True))


class MemoryIdMap:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []

    async def put(
        self, gateway: str, user: str, conversation: str, *, xmpp_id: str, legacy_id: str
    ) -> None:
        self.rows.append((user, conversation, xmpp_id, legacy_id))

    async def legacy_for_xmpp(
        self, gateway: str, user: str, conversation: str, xmpp_id: str
    ) -> str | None:
        return next((r[3] for r in self.rows if r[:3] == (user, conversation, xmpp_id)), None)

    async def xmpp_for_legacy(
        self, gateway: str, user: str, conversation: str, legacy_id: str
    ) -> str | None:
        found = [r[2] for r in self.rows if (r[0], r[1], r[3]) == (user, conversation, legacy_id)]
        return found[-1] if found else None


async def test_ids_outlive_the_memory_through_the_store() -> None:
    grammar = AddressGrammar(room_prefixes="#")
    room = RoomAddress("net", "#r")
    store = MemoryIdMap()
    ids = MessageIds(grammar, "gw", store, capacity=1)
    ids.bind("u", room, "origin-1", "L1")
    ids.remember(
        "u", room, message_id="origin-1", stanza_id="s-1", legacy_id=None, author="me", body="hi"
    )
    ids.bind("u", room, "origin-2", "L2")  # pushes the first out of a memory of one
    await ids.close()
    assert ids.by_legacy("u", room, "L1") is None
    assert await ids.legacy_id("u", room, "s-1") == "L1"
    await ids.load_legacy("u", room, "L1")
    known = ids.by_legacy("u", room, "L1")
    assert known is not None and known.message_id in {"origin-1", "s-1"}
