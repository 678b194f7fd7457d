"""XEP-0313 Message Archive Management on room JIDs, paged with XEP-0059 Result Set Management.

Who may read what: every archive here is one user's own copy of what the gateway delivered
to them (see :mod:`bridge.store.archive`), so a query reads only the requester's archive of
the room, whether or not they are in the room now. Nobody can read what another user saw,
so no membership check is needed; like Biboumi, any user may query, and a user who never
was in the room simply gets an empty archive.

Result ids are the ``stanza-id``\\ s (``by`` the room) the room gave each message, so a
client can page from a message it received live.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from slixmpp import JID
from slixmpp.jid import InvalidJID
from slixmpp.plugins.xep_0004 import Form, FormField
from slixmpp.plugins.xep_0059.stanza import Set
from slixmpp.plugins.xep_0122.stanza import FormValidation
from slixmpp.plugins.xep_0203.stanza import Delay
from slixmpp.plugins.xep_0297.stanza import Forwarded
from slixmpp.plugins.xep_0313 import stanza as mam_stanza
from slixmpp.stanza import Iq, Message
from slixmpp.xmlstream import StanzaBase, register_stanza_plugin

from bridge.addressing import ContactAddress, Grammar, RoomAddress
from bridge.errors import BadRequest, LegacyError, NotSupported, XmppError
from bridge.muc.stanzas import room_message
from bridge.replies import error_reply, failure_reply
from bridge.routing import ContactPlace, Place, RoomPlace
from bridge.store.archive import MAX_PAGE, Archive, ArchivedMessage, ArchivePage, UnknownArchiveId
from bridge.store.archive_writer import ArchiveWriter

# What slixmpp's xep_0313 plugin would register; the component loads no slixmpp plugin.
register_stanza_plugin(Iq, mam_stanza.MAM)
register_stanza_plugin(mam_stanza.MAM, Form)
register_stanza_plugin(mam_stanza.MAM, Set)
register_stanza_plugin(Iq, mam_stanza.Fin)
register_stanza_plugin(mam_stanza.Fin, Set)
register_stanza_plugin(Iq, mam_stanza.Metadata)
register_stanza_plugin(mam_stanza.Metadata, mam_stanza.Start)
register_stanza_plugin(mam_stanza.Metadata, mam_stanza.End)
register_stanza_plugin(Message, mam_stanza.Result)
register_stanza_plugin(mam_stanza.Result, Forwarded)
register_stanza_plugin(Forwarded, Message, iterable=True)
register_stanza_plugin(Forwarded, Delay)
register_stanza_plugin(Form, FormField, iterable=True)
register_stanza_plugin(FormField, FormValidation)

NS_MAM = "urn:xmpp:mam:2"
NS_RSM = "http://jabber.org/protocol/rsm"
NS_FORMS = "jabber:x:data"
FEATURES = [NS_MAM, f"{NS_MAM}#extended", "urn:xmpp:sid:0"]
"""Disco features of every room JID."""

Conversation = RoomAddress | ContactAddress
_FIELDS = ("with", "start", "end", "before-id", "after-id", "ids")
_BAD_REQUEST = XmppError("modify", "bad-request")
_ITEM_NOT_FOUND = XmppError("cancel", "item-not-found")
_NOT_IMPLEMENTED = XmppError("cancel", "feature-not-implemented")


@dataclass(frozen=True, slots=True)
class MamQuery:
    """A client's archive query, checked: what :meth:`Archive.query` needs, and the query id."""

    query_id: str
    limit: int
    start: datetime | None = None
    end: datetime | None = None
    sender: str | None = None
    """The nick of a ``with`` occupant JID; None for the whole room."""
    after_id: str | None = None
    before_id: str | None = None
    """RSM ``before``: ``""`` asks for the last page."""
    since_id: str | None = None
    until_id: str | None = None
    ids: tuple[str, ...] = ()
    flip_page: bool = False


def form() -> Form:
    """The query fields this archive understands (the answer to an iq get)."""
    fields = Form()
    fields["type"] = "form"
    fields.add_field(var="FORM_TYPE", ftype="hidden", value=NS_MAM)
    fields.add_field(var="with", ftype="jid-single", label="Only messages of this occupant")
    fields.add_field(var="start", ftype="text-single", label="Messages from this time on")
    fields.add_field(var="end", ftype="text-single", label="Messages up to this time")
    fields.add_field(var="before-id", ftype="text-single", label="Messages before this id")
    fields.add_field(var="after-id", ftype="text-single", label="Messages after this id")
    ids = fields.add_field(var="ids", ftype="list-multi", label="Only the messages of these ids")
    ids["validate"]["datatype"] = "xs:string"
    ids["validate"]["open"] = True
    return fields


def parse_query(iq: Iq, room_jid: str) -> MamQuery:
    """Read the query's form, RSM set and flip-page; BadRequest/NotSupported name the culprit."""
    query = iq.xml.find(f"{{{NS_MAM}}}query")
    if query is None:
        raise BadRequest(f"The iq holds no <query xmlns='{NS_MAM}'/>.")
    values = _form_values(query.find(f"{{{NS_FORMS}}}x"))
    single = {var: _single(var, found) for var, found in values.items() if var != "ids"}
    rsm = query.find(f"{{{NS_RSM}}}set")
    return MamQuery(
        query_id=query.get("queryid", ""),
        limit=_limit(rsm),
        start=_timestamp("start", single.get("start")),
        end=_timestamp("end", single.get("end")),
        sender=_sender(single.get("with"), room_jid),
        after_id=_rsm_id(rsm, "after", empty_allowed=False),
        before_id=_rsm_id(rsm, "before", empty_allowed=True),
        since_id=single.get("after-id"),
        until_id=single.get("before-id"),
        ids=tuple(value for value in values.get("ids", ()) if value),
        flip_page=query.find(f"{{{NS_MAM}}}flip-page") is not None,
    )


def _form_values(x: ET.Element | None) -> dict[str, list[str]]:
    if x is None:
        return {}
    values: dict[str, list[str]] = {}
    for field in x.findall(f"{{{NS_FORMS}}}field"):
        var = field.get("var", "")
        found = [(value.text or "").strip() for value in field.findall(f"{{{NS_FORMS}}}value")]
        if var == "FORM_TYPE":
            if found and found[0] != NS_MAM:
                raise BadRequest(f"The form's FORM_TYPE must be {NS_MAM}, not '{found[0]}'.")
        elif var in _FIELDS:
            values[var] = found
        else:
            known = ", ".join(f"'{name}'" for name in _FIELDS)
            raise NotSupported(f"This archive has no query field '{var}'; it knows {known}.")
    return values


def _single(var: str, values: list[str]) -> str | None:
    if len(values) > 1:
        raise BadRequest(f"The '{var}' field takes one value, not {len(values)}.")
    return values[0] if values and values[0] else None


def _timestamp(var: str, text: str | None) -> datetime | None:
    """A XEP-0082 date and time; one without a zone is taken as UTC."""
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(
            f"The '{var}' field must be a date and time such as 2024-05-01T12:00:00Z, not '{text}'."
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _sender(text: str | None, room_jid: str) -> str | None:
    """The nick a ``with`` JID names; the room's own JID means everyone."""
    if text is None:
        return None
    try:
        jid = JID(text)
    except InvalidJID:
        raise BadRequest(f"The 'with' field holds '{text}', which is not a JID.") from None
    if jid.bare != JID(room_jid).bare:
        raise BadRequest(
            f"The 'with' field must name {room_jid} (in a room, or one of its occupants "
            f"such as {room_jid}/nick), not {text}."
        )
    return jid.resource or None


def _limit(rsm: ET.Element | None) -> int:
    """RSM ``max``, capped at :data:`MAX_PAGE` (also the default)."""
    if rsm is not None and rsm.find(f"{{{NS_RSM}}}index") is not None:
        raise NotSupported("Paging by <index/> is not supported: page with <after/> or <before/>.")
    text = None if rsm is None else rsm.findtext(f"{{{NS_RSM}}}max")
    if text is None:
        return MAX_PAGE
    try:
        wanted = int(text.strip())
    except ValueError:
        wanted = -1
    if wanted < 0:
        raise BadRequest(f"The RSM <max/> must be a whole number, 0 or more, not '{text}'.")
    return min(wanted, MAX_PAGE)


def _rsm_id(rsm: ET.Element | None, name: str, *, empty_allowed: bool) -> str | None:
    element = None if rsm is None else rsm.find(f"{{{NS_RSM}}}{name}")
    if element is None:
        return None
    text = (element.text or "").strip()
    if not text and not empty_allowed:
        raise BadRequest(f"The RSM <{name}/> needs the id of a message.")
    return text


class MamService:
    """Answers archive queries, archive metadata and the query form on every room JID."""

    def __init__(
        self,
        *,
        gateway: str,
        grammar: Grammar,
        archive: Archive,
        writer: ArchiveWriter,
        send: Callable[[StanzaBase], None],
    ) -> None:
        self._gateway = gateway
        self._grammar = grammar
        self._archive = archive
        self._writer = writer
        self._send = send

    async def on_iq(self, iq: Iq, place: Place) -> None:
        """Any ``urn:xmpp:mam:2`` iq to a gateway JID: rooms and people answer."""
        if iq["type"] not in ("get", "set"):
            return
        if isinstance(place, RoomPlace) and place.nick is None:
            conversation: Conversation = place.room
        elif isinstance(place, ContactPlace):
            conversation = place.contact
        elif isinstance(place, RoomPlace):
            text = f"Ask the room itself for its archive: {self._jid(place.room)}"
            self._send(error_reply(iq, _BAD_REQUEST, text))
            return
        else:
            text = "Rooms and people keep archives on this gateway, not the gateway itself."
            self._send(error_reply(iq, _NOT_IMPLEMENTED, text))
            return
        if iq.xml.find(f"{{{NS_MAM}}}metadata") is not None:
            await self.on_metadata(iq, conversation)
        elif iq["type"] == "get":
            reply = _answer(iq)
            reply["mam"].append(form())
            self._send(reply)
        else:
            await self.on_query(iq, conversation)

    async def on_query(self, iq: Iq, room: Conversation) -> None:
        """Send the page of the requester's archive the query asks for, then the fin."""
        room_jid = self._jid(room)
        try:
            query = parse_query(iq, room_jid)
        except LegacyError as error:
            self._send(failure_reply(iq, error))
            return
        user = iq["from"].bare
        await self._writer.flush()
        try:
            page = await self._page(user, room, query)
        except UnknownArchiveId as unknown:
            text = (
                f"No message with the id '{unknown.stanza_id}' is in your archive of "
                f"{room_jid}; page from an id this archive gave you."
            )
            self._send(error_reply(iq, _ITEM_NOT_FOUND, text))
            return
        for message in page.messages:
            self._send(self._result(iq["from"], room, query.query_id, message))
        self._send(_fin(iq, page, newest_first=query.flip_page))

    async def on_metadata(self, iq: Iq, room: Conversation) -> None:
        """The first and last message of the requester's archive of *room*."""
        if iq["type"] != "get":
            text = "Archive metadata is read with an iq of type 'get'."
            self._send(error_reply(iq, _BAD_REQUEST, text))
            return
        await self._writer.flush()
        key = (self._gateway, iq["from"].bare, self._grammar.format(room))
        first = await self._archive.query(*key, limit=1)
        last = await self._archive.query(*key, before_id="", limit=1)
        reply = _answer(iq)
        metadata = reply["mam_metadata"]
        for edge, found in (("start", first), ("end", last)):
            for message in found.messages:
                metadata[edge]["id"] = message.stanza_id
                metadata[edge]["timestamp"] = message.when
        self._send(reply)

    async def _page(self, user: str, room: Conversation, query: MamQuery) -> ArchivePage:
        return await self._archive.query(
            self._gateway,
            user,
            self._grammar.format(room),
            after_id=query.after_id,
            before_id=query.before_id,
            start=query.start,
            end=query.end,
            limit=query.limit,
            newest_first=query.flip_page,
            sender=query.sender,
            since_id=query.since_id,
            until_id=query.until_id,
            ids=query.ids,
        )

    def _result(
        self, to: JID, conversation: Conversation, query_id: str, message: ArchivedMessage
    ) -> Message:
        """One archived message, forwarded as it was sent (no 'to' in rooms, XEP-0313 §5)."""
        jid = self._jid(conversation)
        body = f"/me {message.body}" if message.action else message.body
        if isinstance(conversation, RoomAddress):
            original = room_message(
                origin=f"{jid}/{message.sender}" if message.sender else jid,
                to="",
                body=body,
                message_id=message.origin_id
                if message.own and message.origin_id
                else message.stanza_id,
                stanza_id=message.stanza_id,
                room_jid=jid,
                origin_id=message.origin_id,
            )
        else:
            original = Message(stream=None)
            original["from"], original["to"] = (to.bare, jid) if message.own else (jid, to.bare)
            original["type"] = "chat"
            original["body"] = body
            original["id"] = message.origin_id or message.stanza_id
        wrapper = Message(stream=None)
        wrapper["from"] = jid
        wrapper["to"] = to
        wrapper["id"] = str(uuid.uuid4())
        result = wrapper["mam_result"]
        result["queryid"] = query_id
        result["id"] = message.stanza_id
        result["forwarded"]["delay"]["stamp"] = message.when
        result["forwarded"].append(original)
        return wrapper

    def _jid(self, conversation: Conversation) -> str:
        return f"{self._grammar.format(conversation)}@{self._gateway}"


def _fin(iq: Iq, page: ArchivePage, *, newest_first: bool) -> Iq:
    """The final iq result: ``complete``, and the page's first and last ids in time order."""
    reply = _answer(iq)
    fin = reply["mam_fin"]
    fin["complete"] = "true" if page.complete else "false"
    in_time_order = page.messages[::-1] if newest_first else page.messages
    fin.enable("rsm")
    if in_time_order:
        fin["rsm"]["first"] = in_time_order[0].stanza_id
        fin["rsm"]["last"] = in_time_order[-1].stanza_id
    return reply


def _answer(iq: Iq) -> Iq:
    """An empty result from the JID *iq* was sent to, whatever stream it came on."""
    reply: Iq = iq.reply(clear=True)
    reply["from"] = iq["to"]
    return reply
