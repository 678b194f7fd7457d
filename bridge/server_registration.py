"""XEP-0077 on `server@gw`: per-server settings through the client's registration form.

Biboumi users set their IRC nick, SASL password and ports this way; the form and its
storage are the network's own `server_registration` command, so both paths agree.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel
from slixmpp.stanza import Iq

from bridge.addressing import ServerAddress
from bridge.errors import LegacyError, XmppError
from bridge.forms import FormInvalid, form_from_model, model_from_form
from bridge.network import CommandContext, LegacySession, NetworkCommand, UserStore
from bridge.policy import RegistrationGate
from bridge.replies import error_reply, failure_reply


class ServerRegistration:
    def __init__(
        self,
        command: NetworkCommand,
        *,
        gate: RegistrationGate,
        session_of: Callable[[str], LegacySession | None],
        store_for: Callable[[str], UserStore],
        send: Callable[[Iq], None],
    ) -> None:
        self._command = command
        self._gate = gate
        self._session_of = session_of
        self._store_for = store_for
        self._send = send

    async def on_iq(self, iq: Iq, server: ServerAddress) -> None:
        user = iq["from"].bare
        if not self._gate.allows(user):
            refusal = self._gate.refusal_text(user)
            self._send(error_reply(iq, XmppError("cancel", "not-allowed"), refusal))
            return
        context = CommandContext(user, server, self._session_of(user), self._store_for(user))
        try:
            current = await self._current(context)
            if iq["type"] == "get":
                self._send(self._form_reply(iq, server, current))
            elif iq["register"]["remove"]:
                text = "Settings stay until changed: use this form or the 'configure' command."
                self._send(error_reply(iq, XmppError("cancel", "not-allowed"), text))
            else:
                submitted = iq["register"]["form"]
                model = model_from_form(self._command.form, submitted, keep_secrets_from=current)
                await self._command.run(context, model)
                self._send(iq.reply(clear=True))
        except FormInvalid as invalid:
            self._send(error_reply(iq, XmppError("modify", "not-acceptable"), str(invalid)))
        except LegacyError as failure:
            self._send(failure_reply(iq, failure))

    async def _current(self, context: CommandContext) -> BaseModel | None:
        prefill = self._command.prefill
        return None if prefill is None else await prefill(context)

    def _form_reply(self, iq: Iq, server: ServerAddress, current: BaseModel | None) -> Iq:
        reply: Iq = iq.reply(clear=True)
        instructions = f"Your settings for {server.server}; they apply from the next connection."
        reply["register"]["instructions"] = instructions
        reply["register"].append(
            form_from_model(
                self._command.form, title=server.server, instructions=instructions, values=current
            )
        )
        return reply
