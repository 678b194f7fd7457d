"""One-to-one conversations: the user's chat messages to people and servers, and back."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from slixmpp.plugins.xep_0085.stanza import ChatState
from slixmpp.plugins.xep_0203.stanza import Delay
from slixmpp.stanza import Message
from slixmpp.xmlstream import register_stanza_plugin

from bridge.addressing import ContactAddress, Grammar, ServerAddress
from bridge.attachments import AttachmentRenderer, both
from bridge.chat_relations import ChatRelations
from bridge.delay import is_late
from bridge.errors import LegacyError
from bridge.events import MessageIn, Typing
from bridge.muc.incoming import client_message_id
from bridge.muc.ports import ArchivedMessage
from bridge.muc.stanzas import clean_text
from bridge.network import Capabilities
from bridge.own_messages import OwnMessages
from bridge.relation_stanzas import ClientRelations, read_relations
from bridge.relations import Relations
from bridge.replies import failure_reply
from bridge.room_archive import RoomArchive
from bridge.sessions import SessionManager

log = logging.getLogger(__name__)

register_stanza_plugin(Message, ChatState)
register_stanza_plugin(Message, Delay)

ACTION_PREFIX = "/me "


class ChatService:
    def __init__(
        self,
        *,
        gateway_jid: str,
        grammar: Grammar,
        capabilities: Capabilities,
        sessions: SessionManager,
        send: Callable[[Message], None],
        archive: RoomArchive,
        relations: Relations,
        attachments: AttachmentRenderer,
        own: OwnMessages,
    ) -> None:
        self._gateway_jid = gateway_jid
        self._own = own
        self._attachments = attachments
        self._grammar = grammar
        self._capabilities = capabilities
        self._sessions = sessions
        self._send = send
        self._archive = archive
        self._relations = relations
        self.links = ChatRelations(relations.ids, self.jid_of, send)

    def jid_of(self, source: ContactAddress | ServerAddress) -> str:
        return f"{self._grammar.format(source)}@{self._gateway_jid}"

    async def on_message(self, message: Message, target: ContactAddress | ServerAddress) -> None:
        """A chat message from the user to a person or a server."""
        if self._own.is_echo(message):
            return  # our forwarded copy of the user's own message, routed back by their server
        user = message["from"].bare
        body: str = message["body"]
        relations = read_relations(message)
        if relations.is_signal or not (body or relations.shared_urls):
            if isinstance(target, ContactAddress):
                await self._signal(message, target, relations)
            return
        action = body.startswith(ACTION_PREFIX)
        request = await self._relations.message(
            user,
            target,
            body[len(ACTION_PREFIX) :] if action else body,
            xmpp_id=client_message_id(message) or "",
            action=action,
            relations=relations,
        )
        try:
            session = await self._sessions.session_for(user)
            await session.apply(request)
        except LegacyError as failure:
            self._send(failure_reply(message, failure))
            return
        sent_id = client_message_id(message) or str(uuid.uuid4())
        self._relations.ids.remember(
            user,
            target,
            message_id=message["id"] or sent_id,
            stanza_id=sent_id,
            legacy_id=None,
            author=user,
            body=request.body,
        )
        if isinstance(target, ContactAddress):
            own = ArchivedMessage(
                stanza_id=str(uuid.uuid4()),
                sender=user,
                body=request.body,
                when=datetime.now(UTC),
                action=action,
                origin_id=message["id"] or None,
                own=True,
            )
            self._archive.record(user, target, own)

    async def _signal(
        self, message: Message, target: ContactAddress, relations: ClientRelations
    ) -> None:
        """A reaction, retraction, marker or chat state; only a retraction may be refused."""
        user = message["from"].bare
        try:
            signal = await self._relations.signal(user, target, relations)
            session = self._sessions.session_of(user)
            if signal is not None and session is not None:
                await session.apply(signal)
        except LegacyError as failure:
            if relations.retracts is not None:
                self._send(failure_reply(message, failure))
            else:
                log.debug("not forwarded: %s", failure)

    def deliver(self, user: str, event: MessageIn) -> None:
        """A message from a person or a server, or the user's own to them written from
        another client, to the user's bare JID."""
        source = event.source
        assert isinstance(source, ContactAddress | ServerAddress)
        if event.own and event.echo_of is not None:
            return  # the network's echo of what the gateway itself sent
        message = Message()
        message["from"] = self.jid_of(source)
        message["to"] = user
        message["type"] = "chat"
        rendered = self._attachments.render(user, event)
        body = clean_text(rendered.body)
        message["body"] = f"{ACTION_PREFIX}{body}" if event.action else body
        if event.when is not None and is_late(event.when):
            _delay(message, event.when, self._gateway_jid)
        stanza_id = str(uuid.uuid4())
        message["id"] = stanza_id
        self._relations.ids.remember(
            user,
            source,
            message_id=stanza_id,
            stanza_id=stanza_id,
            legacy_id=event.legacy_id,
            author=user if event.own else self.jid_of(source),
            body=body,
        )
        decorate = both(self.links.links(user, event), rendered.decorate)
        if decorate is not None:
            decorate(message)
        if isinstance(source, ContactAddress):
            message["stanza_id"]["id"] = stanza_id
            message["stanza_id"]["by"] = self.jid_of(source)
            theirs = ArchivedMessage(
                stanza_id=stanza_id,
                sender=user if event.own else source.name,
                body=body,
                when=event.when or datetime.now(UTC),
                action=event.action,
                legacy_id=event.legacy_id,
                own=event.own,
            )
            self._archive.record(user, source, theirs)
        if event.own:
            self._own.show(message)
        else:
            self._send(message)

    def deliver_typing(self, user: str, event: Typing) -> None:
        if not isinstance(event.source, ContactAddress):
            return
        message = Message()
        message["from"] = self.jid_of(event.source)
        message["to"] = user
        message["type"] = "chat"
        message["chat_state"] = "composing" if event.active else "paused"
        self._send(message)


def _delay(message: Message, when: datetime, by: str) -> None:
    message["delay"]["stamp"] = when
    message["delay"]["from"] = by
