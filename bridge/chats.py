"""One-to-one conversations: the user's chat messages to people and servers, and back."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from slixmpp.plugins.xep_0085.stanza import ChatState
from slixmpp.plugins.xep_0203.stanza import Delay
from slixmpp.stanza import Message
from slixmpp.xmlstream import register_stanza_plugin

from bridge.addressing import ContactAddress, Grammar, ServerAddress
from bridge.delay import is_late
from bridge.errors import LegacyError
from bridge.events import MessageIn, SendMessage, SendTyping, Typing
from bridge.muc.ports import ArchivedMessage
from bridge.muc.stanzas import clean_text
from bridge.network import Capabilities
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
    ) -> None:
        self._gateway_jid = gateway_jid
        self._grammar = grammar
        self._capabilities = capabilities
        self._sessions = sessions
        self._send = send
        self._archive = archive

    def jid_of(self, source: ContactAddress | ServerAddress) -> str:
        return f"{self._grammar.format(source)}@{self._gateway_jid}"

    async def on_message(self, message: Message, target: ContactAddress | ServerAddress) -> None:
        """A chat message from the user to a person or a server."""
        user = message["from"].bare
        body: str = message["body"]
        state = message["chat_state"] if message.get_plugin("chat_state", check=True) else ""
        if not body:
            if state and self._capabilities.typing and isinstance(target, ContactAddress):
                session = self._sessions.session_of(user)
                if session is not None:
                    await _quietly(session.apply(SendTyping(target, state == "composing")))
            return
        action = body.startswith(ACTION_PREFIX)
        request = SendMessage(
            target=target,
            body=body[len(ACTION_PREFIX) :] if action else body,
            xmpp_id=message["id"] or "",
            action=action,
        )
        try:
            session = await self._sessions.session_for(user)
            await session.apply(request)
        except LegacyError as failure:
            self._send(failure_reply(message, failure))
            return
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

    def deliver(self, user: str, event: MessageIn) -> None:
        """A message from a person or a server, to the user's bare JID."""
        source = event.source
        assert isinstance(source, ContactAddress | ServerAddress)
        message = Message()
        message["from"] = self.jid_of(source)
        message["to"] = user
        message["type"] = "chat"
        body = clean_text(event.body)
        message["body"] = f"{ACTION_PREFIX}{body}" if event.action else body
        if event.when is not None and is_late(event.when):
            _delay(message, event.when, self._gateway_jid)
        if isinstance(source, ContactAddress):
            stanza_id = str(uuid.uuid4())
            message["stanza_id"]["id"] = stanza_id
            message["stanza_id"]["by"] = self.jid_of(source)
            theirs = ArchivedMessage(
                stanza_id=stanza_id,
                sender=source.name,
                body=body,
                when=event.when or datetime.now(UTC),
                action=event.action,
                legacy_id=event.legacy_id,
            )
            self._archive.record(user, source, theirs)
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


async def _quietly(awaitable: Awaitable[None]) -> None:
    try:
        await awaitable
    except LegacyError as error:
        log.debug("not forwarded: %s", error)
