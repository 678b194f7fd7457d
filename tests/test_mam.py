"""MAM on room JIDs: what a client's archive query gets back, on a real SQLite store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from slixmpp import JID
from slixmpp.stanza import Iq, Message
from slixmpp.xmlstream import StanzaBase

from bridge.addressing import AddressGrammar, RoomAddress
from bridge.mam import FEATURES, NS_MAM, MamService
from bridge.routing import GatewayPlace, Place, RoomPlace
from bridge.secrets import SecretBox, generate_key
from bridge.store import ArchivedMessage, ArchiveWriter, Store, upgrade

GW = "gw.example.org"
ALICE = "alice@example.org"
ALICE_PHONE = f"{ALICE}/phone"
BOB = "bob@example.org"
GRAMMAR = AddressGrammar()
ROOM = RoomAddress("irc.example.org", "#chan")
ROOM_JID = f"#chan%irc.example.org@{GW}"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@dataclass
class Harness:
    service: MamService
    writer: ArchiveWriter
    sent: list[StanzaBase] = field(default_factory=list)

    def archive(self, *numbers: int, user: str = ALICE, **changes: Any) -> None:
        for number in numbers:
            self.writer.append(replace(said(number, user=user), **changes))

    async def ask(self, iq: Iq, place: Place | None = None) -> list[StanzaBase]:
        """Everything the service sends for *iq*."""
        self.sent.clear()
        await self.service.on_iq(iq, place or RoomPlace(ROOM))
        return list(self.sent)

    async def page(self, **query: Any) -> tuple[list[Message], Iq]:
        """The result messages and the final iq of a successful query."""
        *results, fin = await self.ask(query_iq(**query))
        assert isinstance(fin, Iq) and fin["type"] == "result", str(fin)
        assert all(isinstance(result, Message) for result in results)
        return results, fin  # type: ignore[return-value]


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    url = f"sqlite+aiosqlite:///{tmp_path}/bridge.db"
    await upgrade(url)
    store = Store.open(url, SecretBox(generate_key()))
    writer = ArchiveWriter(store.archive)
    sent: list[StanzaBase] = []
    service = MamService(
        gateway=GW, grammar=GRAMMAR, archive=store.archive, writer=writer, send=sent.append
    )
    yield Harness(service, writer, sent)
    await writer.close()
    await store.close()


def said(number: int, *, user: str = ALICE) -> ArchivedMessage:
    return ArchivedMessage(
        gateway=GW,
        user=user,
        conversation=GRAMMAR.format(ROOM),
        stanza_id=f"sid-{number}",
        legacy_id=None,
        origin_id=None,
        sender="bob",
        body=f"message {number}",
        when=T0 + timedelta(seconds=number),
        own=False,
        action=False,
    )


def query_iq(
    *,
    kind: str = "set",
    sender: str = ALICE_PHONE,
    to: str = ROOM_JID,
    fields: dict[str, str | list[str]] | None = None,
    rsm: dict[str, str | bool] | None = None,
    flip: bool = False,
    queryid: str = "q1",
) -> Iq:
    iq = Iq(stream=None)
    iq["from"] = sender
    iq["to"] = to
    iq["type"] = kind
    iq["id"] = "iq1"
    iq["mam"]["queryid"] = queryid
    for var, value in (fields or {}).items():
        if var in ("start", "end", "with", "before-id", "after-id"):
            iq["mam"].set_custom_field(var, value)
        else:
            iq["mam"]["form"].add_field(var=var, value=value)
    for key, flag in (rsm or {}).items():
        iq["mam"]["rsm"][key] = flag
    if flip:
        ET.SubElement(iq["mam"].xml, f"{{{NS_MAM}}}flip-page")
    return iq


def ids_of(results: list[Message]) -> list[str]:
    return [result["mam_result"]["id"] for result in results]


def bodies(results: list[Message]) -> list[str]:
    return [result["mam_result"]["forwarded"]["stanza"]["body"] for result in results]


def error_of(stanzas: list[StanzaBase]) -> tuple[str, str]:
    assert len(stanzas) == 1 and stanzas[0]["type"] == "error", stanzas
    return stanzas[0]["error"]["condition"], stanzas[0]["error"]["text"]


async def test_each_result_forwards_the_room_message_with_its_time_and_ids(
    harness: Harness,
) -> None:
    harness.archive(1)
    harness.archive(2, sender="alice", own=True, origin_id="client-2", action=True, body="waves")

    results, fin = await harness.page()

    first, second = results
    assert first["from"] == JID(ROOM_JID) and first["to"] == JID(ALICE_PHONE)
    assert first["mam_result"]["queryid"] == "q1"
    assert first["mam_result"]["id"] == "sid-1"
    forwarded = first["mam_result"]["forwarded"]
    assert forwarded["delay"]["stamp"] == T0 + timedelta(seconds=1)
    original = forwarded["stanza"]
    assert original["from"] == JID(f"{ROOM_JID}/bob")
    assert original.xml.get("to") is None
    assert original["type"] == "groupchat"
    assert original["body"] == "message 1"
    assert original["stanza_id"]["id"] == "sid-1"
    assert original["stanza_id"]["by"] == JID(ROOM_JID)
    own = second["mam_result"]["forwarded"]["stanza"]
    assert own["body"] == "/me waves"
    assert own["id"] == "client-2" and own["origin_id"]["id"] == "client-2"
    assert fin["from"] == JID(ROOM_JID) and fin["id"] == "iq1"
    assert fin["mam_fin"]["complete"] == "true"
    assert (fin["mam_fin"]["rsm"]["first"], fin["mam_fin"]["rsm"]["last"]) == ("sid-1", "sid-2")


async def test_an_empty_archive_is_complete_with_an_empty_set(harness: Harness) -> None:
    results, fin = await harness.page()
    assert results == []
    assert fin["mam_fin"]["complete"] == "true"
    rsm = fin.xml.find(f"{{{NS_MAM}}}fin/{{http://jabber.org/protocol/rsm}}set")
    assert rsm is not None and len(rsm) == 0


async def test_a_message_just_said_is_already_in_the_archive(harness: Harness) -> None:
    harness.archive(1)
    assert harness.writer.buffered == 1
    results, _ = await harness.page()
    assert ids_of(results) == ["sid-1"]


async def test_paging_forward_with_after_until_complete(harness: Harness) -> None:
    harness.archive(*range(1, 26))
    seen: list[str] = []
    after: dict[str, str | bool] = {}
    while True:
        results, fin = await harness.page(rsm={"max": "10", **after})
        seen += ids_of(results)
        if fin["mam_fin"]["complete"] == "true":
            break
        assert len(results) == 10
        after = {"after": fin["mam_fin"]["rsm"]["last"]}
    assert seen == [f"sid-{n}" for n in range(1, 26)]


async def test_paging_backward_from_the_last_page(harness: Harness) -> None:
    harness.archive(*range(1, 26))
    last, fin = await harness.page(rsm={"max": "10", "before": True})
    assert ids_of(last) == [f"sid-{n}" for n in range(16, 26)]
    assert fin["mam_fin"]["complete"] == "false"
    earlier, fin = await harness.page(rsm={"max": "10", "before": fin["mam_fin"]["rsm"]["first"]})
    assert ids_of(earlier) == [f"sid-{n}" for n in range(6, 16)]
    earliest, fin = await harness.page(rsm={"max": "10", "before": "sid-6"})
    assert ids_of(earliest) == [f"sid-{n}" for n in range(1, 6)]
    assert fin["mam_fin"]["complete"] == "true"


async def test_a_page_holds_at_most_100_messages(harness: Harness) -> None:
    harness.archive(*range(1, 131))
    default, fin = await harness.page()
    assert len(default) == 100 and fin["mam_fin"]["complete"] == "false"
    asked_for_more, _ = await harness.page(rsm={"max": "500"})
    assert len(asked_for_more) == 100


async def test_a_flipped_page_comes_newest_first_with_the_same_first_and_last(
    harness: Harness,
) -> None:
    harness.archive(*range(1, 11))
    results, fin = await harness.page(rsm={"max": "3", "before": True}, flip=True)
    assert ids_of(results) == ["sid-10", "sid-9", "sid-8"]
    assert (fin["mam_fin"]["rsm"]["first"], fin["mam_fin"]["rsm"]["last"]) == ("sid-8", "sid-10")


async def test_with_an_occupant_jid_keeps_that_nicks_messages(harness: Harness) -> None:
    harness.archive(1, 3)
    harness.archive(2, sender="carol")
    carol, _ = await harness.page(fields={"with": f"{ROOM_JID}/carol"})
    assert ids_of(carol) == ["sid-2"]
    everyone, _ = await harness.page(fields={"with": ROOM_JID})
    assert ids_of(everyone) == ["sid-1", "sid-2", "sid-3"]
    condition, text = error_of(await harness.ask(query_iq(fields={"with": "carol@example.org"})))
    assert condition == "bad-request" and "'with'" in text and f"{ROOM_JID}/nick" in text


async def test_start_and_end_bound_the_time_inclusively(harness: Harness) -> None:
    harness.archive(*range(1, 6))
    fields = {
        "start": (T0 + timedelta(seconds=2)).isoformat(),
        "end": (T0 + timedelta(seconds=4)).isoformat().replace("+00:00", "Z"),
    }
    results, _ = await harness.page(fields=fields)
    assert ids_of(results) == ["sid-2", "sid-3", "sid-4"]
    condition, text = error_of(await harness.ask(query_iq(fields={"start": "yesterday"})))
    assert condition == "bad-request" and "'start'" in text and "yesterday" in text


async def test_before_id_after_id_and_ids_select_messages_without_paging_backwards(
    harness: Harness,
) -> None:
    harness.archive(*range(1, 11))
    between, fin = await harness.page(
        fields={"after-id": "sid-2", "before-id": "sid-9"}, rsm={"max": "3"}
    )
    assert ids_of(between) == ["sid-3", "sid-4", "sid-5"]
    assert fin["mam_fin"]["complete"] == "false"
    rest, fin = await harness.page(
        fields={"after-id": "sid-2", "before-id": "sid-9"}, rsm={"max": "3", "after": "sid-7"}
    )
    assert ids_of(rest) == ["sid-8"] and fin["mam_fin"]["complete"] == "true"
    picked, _ = await harness.page(fields={"ids": ["sid-7", "sid-4"]})
    assert ids_of(picked) == ["sid-4", "sid-7"]


async def test_an_unknown_id_is_item_not_found_naming_it(harness: Harness) -> None:
    harness.archive(1)
    for query in (
        query_iq(rsm={"after": "gone"}),
        query_iq(rsm={"before": "gone"}),
        query_iq(fields={"after-id": "gone"}),
        query_iq(fields={"ids": ["sid-1", "gone"]}),
    ):
        condition, text = error_of(await harness.ask(query))
        assert condition == "item-not-found" and "'gone'" in text


async def test_only_the_requesters_own_archive_is_searched(harness: Harness) -> None:
    harness.archive(1, 2, user=BOB)
    harness.archive(3)
    results, _ = await harness.page()
    assert ids_of(results) == ["sid-3"]
    condition, _ = error_of(await harness.ask(query_iq(rsm={"after": "sid-1"})))
    assert condition == "item-not-found"


async def test_bad_queries_name_what_is_wrong(harness: Harness) -> None:
    cases = [
        ({"fields": {"fulltext": "x"}}, "feature-not-implemented", "'fulltext'"),
        ({"rsm": {"index": "3"}}, "feature-not-implemented", "index"),
        ({"rsm": {"max": "lots"}}, "bad-request", "'lots'"),
        ({"rsm": {"max": "-1"}}, "bad-request", "max"),
        ({"fields": {"FORM_TYPE": "urn:xmpp:mam:1"}}, "bad-request", "FORM_TYPE"),
    ]
    for query, wanted, named in cases:
        condition, text = error_of(await harness.ask(query_iq(**query)))  # type: ignore[arg-type]
        assert (condition, named in text) == (wanted, True), (query, text)


async def test_the_form_lists_every_field_a_query_may_use(harness: Harness) -> None:
    (reply,) = await harness.ask(query_iq(kind="get"))
    assert reply["type"] == "result"
    fields = reply["mam"]["form"].get_fields()
    assert fields["FORM_TYPE"].xml.findtext("{jabber:x:data}value") == NS_MAM
    assert {"with", "start", "end", "before-id", "after-id", "ids"} <= set(fields)
    assert fields["with"]["type"] == "jid-single"
    assert f"{NS_MAM}#extended" in FEATURES


async def test_metadata_names_the_first_and_last_message(harness: Harness) -> None:
    empty = Iq(stream=None, sfrom=ALICE_PHONE, sto=ROOM_JID, stype="get")
    empty.enable("mam_metadata")
    (reply,) = await harness.ask(empty)
    assert reply["type"] == "result" and len(reply["mam_metadata"].xml) == 0
    harness.archive(1, 2, 3)
    (reply,) = await harness.ask(empty)
    assert reply["mam_metadata"]["start"]["id"] == "sid-1"
    assert reply["mam_metadata"]["end"]["id"] == "sid-3"
    assert reply["mam_metadata"]["end"]["timestamp"] == T0 + timedelta(seconds=3)


async def test_rooms_and_people_have_archives_not_the_gateway(harness: Harness) -> None:
    condition, text = error_of(await harness.ask(query_iq(), GatewayPlace()))
    assert condition == "feature-not-implemented" and "Rooms and people" in text
    occupant = RoomPlace(ROOM, "bob")
    condition, text = error_of(await harness.ask(query_iq(), occupant))
    assert condition == "bad-request" and ROOM_JID in text
