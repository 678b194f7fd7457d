"""XEP-0077 in-band registration with the XEP-0100 subscription dance.

The form is the plugin's registration model plus the core's own `stay_connected`
setting. Secret fields (SecretStr) are stored sealed and registered with the log
redactor the moment they arrive. The same form is offered as the ad-hoc command
`register`, for clients (Conversations) that have no registration UI.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, Field, SecretStr, create_model
from slixmpp import JID
from slixmpp.plugins.xep_0004 import Form
from slixmpp.plugins.xep_0077.stanza import Register
from slixmpp.stanza import Iq
from slixmpp.xmlstream import register_stanza_plugin

from bridge.errors import LegacyError, XmppError
from bridge.forms import FormInvalid, form_from_model, model_from_form
from bridge.logsetup import register_secret
from bridge.network import CommandContext, HostResolver, Network, NetworkCommand
from bridge.policy import RegistrationGate
from bridge.replies import error_reply, failure_reply
from bridge.store.registrations import Registrations
from bridge.user_store import split_secrets

log = logging.getLogger(__name__)

register_stanza_plugin(Iq, Register)
register_stanza_plugin(Register, Form)

STAY_CONNECTED = "stay_connected"
ARCHIVE_PRIVATE = "archive_private"
CORE_FIELDS = frozenset({STAY_CONNECTED, ARCHIVE_PRIVATE})


class RegistrationBook:
    """Registrations of one gateway, as instances of the combined form model."""

    def __init__(self, registrations: Registrations, gateway: str, network: Network) -> None:
        self._rows = registrations
        self._gateway = gateway
        self.network_form = network.registration_form
        self.form: type[BaseModel] = create_model(
            f"{network.registration_form.__name__}WithGateway",
            __base__=network.registration_form,
            stay_connected=(
                bool,
                Field(
                    default=False,
                    title="Stay connected",
                    description="Keep the legacy session while all your XMPP clients are offline.",
                ),
            ),
            archive_private=(
                bool,
                Field(
                    default=False,
                    title="Archive private chats",
                    description="Keep your one-to-one conversations in the gateway's archive.",
                ),
            ),
        )
        self._archiving: set[str] = set()

    async def load(self, user: str) -> BaseModel | None:
        row = await self._rows.get(self._gateway, user)
        if row is None:
            return None
        for secret in row.secrets.values():
            register_secret(secret)
        data: dict[str, Any] = {**row.fields, **row.secrets, STAY_CONNECTED: row.stay_connected}
        model = self.form.model_validate(data)
        self._note_archiving(user, model)
        return model

    def archives_private(self, user: str) -> bool:
        """Whether the user keeps their one-to-one chats (known once they have logged in)."""
        return user in self._archiving

    def _note_archiving(self, user: str, model: BaseModel) -> None:
        if getattr(model, ARCHIVE_PRIVATE, False):
            self._archiving.add(user)
        else:
            self._archiving.discard(user)

    async def settings(self, user: str) -> BaseModel | None:
        """What the plugin sees at login: its own model, without the core's fields."""
        full = await self.load(user)
        if full is None:
            return None
        return self.network_form.model_validate(full.model_dump(exclude=set(CORE_FIELDS)))

    async def save(self, user: str, model: BaseModel) -> None:
        fields, secrets = split_secrets(model, skip=frozenset({STAY_CONNECTED}))
        self._note_archiving(user, model)
        await self._rows.put(
            self._gateway,
            user,
            fields=fields,
            secrets=secrets,
            stay_connected=bool(getattr(model, STAY_CONNECTED, False)),
        )

    async def stay_connected(self, user: str) -> bool:
        row = await self._rows.get(self._gateway, user)
        return row is not None and row.stay_connected

    async def users(self) -> list[str]:
        return [r.user for r in await self._rows.list_for_gateway(self._gateway)]


class UserRegistration:
    """One user's registration as a command sees it (bridge.network.StoredRegistration):
    the network's part is replaced, the core's settings stay as they were."""

    def __init__(
        self,
        book: RegistrationBook,
        user: str,
        on_registered: Callable[[str, bool], Awaitable[None]],
        hosts: HostResolver,
    ) -> None:
        self._book = book
        self._user = user
        self._on_registered = on_registered
        self.hosts = hosts

    async def load(self) -> BaseModel | None:
        return await self._book.settings(self._user)

    async def replace(self, settings: BaseModel) -> None:
        current = await self._book.load(self._user)
        if current is None:
            raise _Refused("You are not registered: register first.")
        core = {name: getattr(current, name) for name in CORE_FIELDS}
        await self._book.save(
            self._user, self._book.form.model_validate({**_raw(settings), **core})
        )
        await self._on_registered(self._user, False)


class RegistrationService:
    """Answers jabber:iq:register on the gateway JID and runs the `register` command."""

    def __init__(
        self,
        *,
        gateway_jid: str,
        name: str,
        network: Network,
        book: RegistrationBook,
        gate: RegistrationGate,
        send: Callable[[Any], None],
        on_registered: Callable[[str, bool], Awaitable[None]],
        on_removed: Callable[[str], Awaitable[None]],
        hosts: HostResolver,
    ) -> None:
        self._jid = gateway_jid
        self._name = name
        self._network = network
        self._book = book
        self._gate = gate
        self._send = send
        self._on_registered = on_registered
        self._on_removed = on_removed
        self._hosts = hosts

    @property
    def instructions(self) -> str:
        return f"Register with {self._name}: fill in the form to connect to the network."

    async def on_iq(self, iq: Iq) -> None:
        user = iq["from"].bare
        if not self._gate.allows(user):
            refusal = self._gate.refusal_text(user)
            self._send(error_reply(iq, XmppError("cancel", "not-allowed"), refusal))
            return
        if iq["type"] == "get":
            self._send(await self._form_reply(iq, user))
            return
        if iq["register"]["remove"]:
            await self._on_removed(user)
            self._send(iq.reply(clear=True))
            return
        submitted = iq["register"]["form"]
        if not submitted.get_fields():
            text = "Send the registration form (jabber:x:data); ask for it with a get first."
            self._send(error_reply(iq, XmppError("modify", "bad-request"), text))
            return
        try:
            await self.register(user, submitted)
        except FormInvalid as invalid:
            self._send(error_reply(iq, XmppError("modify", "not-acceptable"), str(invalid)))
            return
        except LegacyError as failure:
            self._send(failure_reply(iq, failure))
            return
        self._send(iq.reply(clear=True))

    async def register(self, user: str, submitted: Form | dict[str, object]) -> bool:
        """Validate, check with the network, store; True when the user is new."""
        previous = await self._book.load(user)
        model = model_from_form(self._book.form, submitted, keep_secrets_from=previous)
        plugin_part = self._book.network_form.model_validate(
            model.model_dump(exclude=set(CORE_FIELDS))
        )
        before = (
            None
            if previous is None
            else self._book.network_form.model_validate(
                previous.model_dump(exclude=set(CORE_FIELDS))
            )
        )
        checked = await self._network.check_registration(
            user, plugin_part, hosts=self._hosts, previous=before
        )
        stored = self._book.form.model_validate(
            {**_raw(checked), **{name: getattr(model, name) for name in CORE_FIELDS}}
        )
        await self._book.save(user, stored)
        log.info("registered %s (%s)", user, "new" if previous is None else "updated")
        await self._on_registered(user, previous is None)
        return previous is None

    async def _form_reply(self, iq: Iq, user: str) -> Iq:
        current = await self._book.load(user)
        reply: Iq = iq.reply(clear=True)
        query = reply["register"]
        query["instructions"] = self.instructions
        if current is not None:
            query["registered"] = True
        form = form_from_model(
            self._book.form, title=self._name, instructions=self.instructions, values=current
        )
        query.append(form)
        return reply

    def stored(self, user: str) -> UserRegistration:
        return UserRegistration(self._book, user, self._on_registered, self._hosts)

    def commands(self, *, configure: bool = True) -> list[NetworkCommand]:
        """The same registration as XEP-0050 commands on the gateway JID: `register` for
        Conversations users, and `configure` where Biboumi users look for their defaults
        (left out when the gateway JID is also a server's, whose `configure` it is)."""

        async def prefill(context: CommandContext) -> BaseModel | None:
            return await self._book.load(context.user)

        async def run(context: CommandContext, form: BaseModel) -> str:
            if not self._gate.allows(context.user):
                raise _Refused(self._gate.refusal_text(context.user))
            new = await self.register(context.user, _raw(form))
            return "You are registered." if new else "Your registration is updated."

        return [
            NetworkCommand(node, name, self._book.form, "gateway", run, prefill)
            for node, name in (("register", "Register"), ("configure", "Configure your defaults"))
            if configure or node != "configure"
        ]


class _Refused(LegacyError):
    """The operator's allowlist refuses this user."""


def _raw(model: BaseModel) -> dict[str, object]:
    """Field values with secrets revealed, ready to validate into another model."""
    return {
        name: value.get_secret_value() if isinstance(value, SecretStr) else value
        for name, value in ((n, getattr(model, n)) for n in type(model).model_fields)
    }


def bare(jid: JID | str) -> str:
    return JID(jid).bare
