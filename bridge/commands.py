"""XEP-0050 ad-hoc commands on the gateway, server and room JIDs.

Our own handler rather than slixmpp's xep_0050 plugin: commands live on JIDs that exist
only in the legacy network (every ``server@gw``, every room), which a static per-JID
registry cannot enumerate. Every command is single-stage: one data form generated from
the command's pydantic model, validated by :mod:`bridge.forms`, shown again with the
person's values and an error note until it fits.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Literal

from pydantic import BaseModel
from slixmpp import JID, ComponentXMPP
from slixmpp.plugins.xep_0004 import Form
from slixmpp.plugins.xep_0050.stanza import Command
from slixmpp.stanza import Iq
from slixmpp.xmlstream import ET, StanzaBase, register_stanza_plugin
from slixmpp.xmlstream.handler import CoroutineCallback
from slixmpp.xmlstream.matcher import StanzaPath

from bridge.addressing import AddressError, RoomAddress, ServerAddress
from bridge.errors import LegacyError, XmppError, error_text, xmpp_error_for
from bridge.forms import FORM_NS, FormInvalid, form_from_model, model_from_form
from bridge.network import (
    CommandContext,
    LegacySession,
    NetworkCommand,
    StoredRegistration,
    UserStore,
)
from bridge.replies import error_reply
from bridge.routing import GatewayPlace, Place, RoomPlace, ServerPlace

log = logging.getLogger(__name__)

COMMANDS_NS = "http://jabber.org/protocol/commands"
SESSION_TTL = 600.0
MAX_SESSIONS_PER_USER = 10

register_stanza_plugin(Iq, Command)
register_stanza_plugin(Command, Form)

Where = Literal["gateway", "server", "room"]
Target = RoomAddress | ServerAddress | None
_ACTIONS = frozenset({"execute", "complete", "next", "prev", "cancel"})


class _Refusal(Exception):
    """A request answered with an iq error; *specific* is XEP-0050's own condition."""

    def __init__(self, error: XmppError, text: str, specific: str | None = None) -> None:
        super().__init__(text)
        self.error = error
        self.text = text
        self.specific = specific


_NOT_FOUND = XmppError("cancel", "item-not-found")
_BAD_REQUEST = XmppError("modify", "bad-request")
_FORBIDDEN = XmppError("auth", "forbidden")
_EXPIRED = XmppError("cancel", "not-allowed")


def _bad_session(text: str) -> _Refusal:
    return _Refusal(_BAD_REQUEST, text, "bad-sessionid")


@dataclass(frozen=True, slots=True)
class _Session:
    """A form handed out and not yet answered, bound to who asked and where."""

    id: str
    command: NetworkCommand
    owner: str
    """Full JID of the requester: another resource may not answer in its place."""
    at: str
    stored: BaseModel | None
    """What the form opened with: empty secret fields keep these values."""
    expires: float


class CommandService:
    """Answers every ``<command/>`` iq sent to any JID of one gateway."""

    def __init__(
        self,
        xmpp: ComponentXMPP,
        *,
        locate: Callable[[JID], Place | None],
        is_admin: Callable[[str], bool],
        session_of: Callable[[str], LegacySession | None],
        store_for: Callable[[str], UserStore],
        registration_for: Callable[[str], StoredRegistration] | None = None,
        fixed_server: ServerAddress | None = None,
        send: Callable[[Iq], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        session_ttl: float = SESSION_TTL,
        max_sessions_per_user: int = MAX_SESSIONS_PER_USER,
    ) -> None:
        """*locate* may raise AddressError; *fixed_server* adds server commands to the gateway."""
        self._locate = locate
        self._is_admin = is_admin
        self._session_of = session_of
        self._store_for = store_for
        self._registration_for = registration_for
        self._fixed_server = fixed_server
        self._send = send or (lambda reply: reply.send())
        self._clock = clock
        self._ttl = session_ttl
        self._max_per_user = max_sessions_per_user
        self._commands: dict[tuple[Where, str], NetworkCommand] = {}
        self._sessions: dict[str, _Session] = {}
        xmpp.register_handler(
            CoroutineCallback(
                "xmpp-bridge ad-hoc commands", StanzaPath("iq@type=set/command"), self._on_iq
            )
        )

    def add(self, command: NetworkCommand) -> None:
        key = (command.where, command.node)
        if key in self._commands:
            raise ValueError(f"two {command.where} commands share the node '{command.node}'")
        self._commands[key] = command

    def items_for(self, to: JID, requester: JID) -> list[tuple[str, str]]:
        """(node, name) of the commands *requester* may run at *to*, for disco#items."""
        return [
            (command.node, command.name)
            for command, _ in self._available(to)
            if self._allowed(command, requester)
        ]

    def has_command(self, to: JID, node: str, requester: JID) -> bool:
        """Whether disco#info on *node* at *to* should describe a command."""
        return any(
            command.node == node and self._allowed(command, requester)
            for command, _ in self._available(to)
        )

    async def respond(self, iq: Iq) -> Iq:
        """The answer to one command request; never raises."""
        try:
            return await self._answer(iq)
        except _Refusal as refusal:
            reply = error_reply(iq, refusal.error, refusal.text)
            if refusal.specific:
                reply["error"].xml.append(ET.Element(f"{{{COMMANDS_NS}}}{refusal.specific}"))
            return reply
        except Exception as failure:
            log.exception("ad-hoc command request failed")
            return error_reply(iq, xmpp_error_for(failure), error_text(failure))

    async def _on_iq(self, stanza: StanzaBase) -> None:
        if isinstance(stanza, Iq):
            self._send(await self.respond(stanza))

    # --- where commands are --------------------------------------------------------------

    def _spots(self, to: JID) -> list[tuple[Where, Target]]:
        try:
            place = self._locate(to)
        except AddressError:
            return []
        if isinstance(place, GatewayPlace):
            fixed: list[tuple[Where, Target]] = (
                [("server", self._fixed_server)] if self._fixed_server else []
            )
            return [("gateway", None), *fixed]
        if isinstance(place, ServerPlace):
            return [("server", place.server)]
        if isinstance(place, RoomPlace) and place.nick is None:
            return [("room", place.room)]
        return []

    def _available(self, to: JID) -> list[tuple[NetworkCommand, Target]]:
        return [
            (command, target)
            for where, target in self._spots(to)
            for (kind, _), command in self._commands.items()
            if kind == where
        ]

    def _allowed(self, command: NetworkCommand, requester: JID) -> bool:
        return not command.admin_only or self._is_admin(requester.bare)

    def _find(self, to: JID, node: str, requester: JID) -> tuple[NetworkCommand, Target]:
        for command, target in self._available(to):
            if command.node == node:
                if not self._allowed(command, requester):
                    raise _Refusal(_FORBIDDEN, "Only the gateway's administrators may run this.")
                return command, target
        raise _Refusal(_NOT_FOUND, f"There is no command '{node}' at {to}.")

    # --- the exchange -------------------------------------------------------------------

    async def _answer(self, iq: Iq) -> Iq:
        request = iq["command"]
        action = request["action"] or "execute"
        if action not in _ACTIONS:
            raise _Refusal(_BAD_REQUEST, f"Unknown action '{action}'.", "malformed-action")
        requester = iq["from"]
        command, target = self._find(iq["to"], request["node"], requester)
        session = self._resume(request["sessionid"], iq) if request["sessionid"] else None
        submitted = request.xml.find(f"{{{FORM_NS}}}x")
        if action == "cancel" or (submitted is not None and submitted.get("type") == "cancel"):
            return self._canceled(iq, session)
        if action == "prev":
            raise _Refusal(_BAD_REQUEST, "This command has a single step.", "bad-action")
        context = CommandContext(
            user=requester.bare,
            target=target,
            session=self._session_of(requester.bare),
            store=self._store_for(requester.bare),
            registration=(
                self._registration_for(requester.bare) if self._registration_for else None
            ),
        )
        if session is None:
            if not command.form.model_fields:
                return await self._run(iq, command, context, command.form(), self._new_id())
            session = await self._start(iq, command, context)
            if submitted is None:
                return self._form_reply(iq, session, session.stored, note=None)
        return await self._submit(iq, session, context, Form(submitted))

    async def _start(self, iq: Iq, command: NetworkCommand, context: CommandContext) -> _Session:
        """A new session holding what the form opens with (a submission's secrets default to it)."""
        try:
            stored = await command.prefill(context) if command.prefill else None
        except LegacyError as failure:
            raise _Refusal(xmpp_error_for(failure), error_text(failure)) from None
        return self._open(command, iq, stored)

    async def _submit(
        self, iq: Iq, session: _Session, context: CommandContext, submitted: Form
    ) -> Iq:
        command = session.command
        try:
            model = model_from_form(command.form, submitted, keep_secrets_from=session.stored)
        except FormInvalid as invalid:
            self._sessions[session.id] = replace(session, expires=self._clock() + self._ttl)
            values = _field_values(session.stored) | invalid.submitted
            return self._form_reply(iq, session, values, note=str(invalid))
        self._sessions.pop(session.id, None)
        return await self._run(iq, command, context, model, session.id)

    async def _run(
        self,
        iq: Iq,
        command: NetworkCommand,
        context: CommandContext,
        model: BaseModel,
        session_id: str,
    ) -> Iq:
        try:
            text, kind = await command.run(context, model), "info"
        except Exception as failure:
            if not isinstance(failure, LegacyError):
                log.exception("ad-hoc command '%s' failed", command.node)
            text, kind = error_text(failure), "error"
        reply = self._reply(iq, command.node, session_id, "completed")
        if text:
            reply["command"].add_note(text, kind)
        return reply

    def _canceled(self, iq: Iq, session: _Session | None) -> Iq:
        if session is not None:
            self._sessions.pop(session.id, None)
        session_id = session.id if session else self._new_id()
        return self._reply(iq, iq["command"]["node"], session_id, "canceled")

    def _form_reply(
        self,
        iq: Iq,
        session: _Session,
        values: BaseModel | Mapping[str, object] | None,
        note: str | None,
    ) -> Iq:
        reply = self._reply(iq, session.command.node, session.id, "executing")
        command = reply["command"]
        command["actions"] = ["complete"]
        command.xml.find(f"{{{COMMANDS_NS}}}actions").set("execute", "complete")
        if note:
            command.add_note(note, "error")
        command.append(
            form_from_model(session.command.form, title=session.command.name, values=values)
        )
        return reply

    @staticmethod
    def _reply(iq: Iq, node: str, session_id: str, status: str) -> Iq:
        reply: Iq = iq.reply(clear=True)
        reply["command"]["node"] = node
        reply["command"]["sessionid"] = session_id
        reply["command"]["status"] = status
        return reply

    # --- sessions -------------------------------------------------------------------------

    @staticmethod
    def _new_id() -> str:
        return secrets.token_urlsafe(12)

    def _open(self, command: NetworkCommand, iq: Iq, stored: BaseModel | None) -> _Session:
        now = self._clock()
        self._sessions = {sid: s for sid, s in self._sessions.items() if s.expires > now}
        owner = iq["from"]
        mine = sorted(
            (s for s in self._sessions.values() if JID(s.owner).bare == owner.bare),
            key=lambda s: s.expires,
        )
        for oldest in mine[: max(0, len(mine) - self._max_per_user + 1)]:
            del self._sessions[oldest.id]
        session = _Session(
            id=self._new_id(),
            command=command,
            owner=str(owner),
            at=str(iq["to"]),
            stored=stored,
            expires=now + self._ttl,
        )
        self._sessions[session.id] = session
        return session

    def _resume(self, session_id: str, iq: Iq) -> _Session:
        session = self._sessions.get(session_id)
        if session is None:
            raise _bad_session("No such command session: start the command again.")
        if session.owner != str(iq["from"]) or session.at != str(iq["to"]):
            raise _bad_session("This command session belongs to someone else.")
        if session.command.node != iq["command"]["node"]:
            raise _bad_session("This command session is for another command.")
        if session.expires <= self._clock():
            del self._sessions[session_id]
            raise _Refusal(
                _EXPIRED, "This command session expired: start it again.", "session-expired"
            )
        return session


def _field_values(stored: BaseModel | None) -> dict[str, object]:
    if stored is None:
        return {}
    return {name: getattr(stored, name) for name in type(stored).model_fields}
