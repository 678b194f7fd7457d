"""The plugin contract: what a network gives the core, and what the core gives it.

A network plugin is a distribution that declares an entry point in the group
``xmpp_bridge.networks``; the entry point names a callable that takes the operator's
options for that gateway (a mapping from the TOML file) and returns a :class:`Network`.
The plugin knows its network and no XMPP: it receives :data:`~bridge.events.UserAction`
values and emits :data:`~bridge.events.LegacyEvent` values.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel

from bridge.addressing import ContactAddress, Grammar, RoomAddress, ServerAddress
from bridge.events import LegacyEvent, UserAction

ENTRY_POINT_GROUP = "xmpp_bridge.networks"

EventSink = Callable[[LegacyEvent], None]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the network can carry; the core picks the fallback for what it cannot."""

    max_message_bytes: int | None = None
    edits: bool = False
    reactions: bool = False
    replies: bool = False
    typing: bool = False
    receipts: bool = False
    threads: bool = False
    media: bool = False
    e2ee: bool = False
    # The room's name can be changed (the owner form's muc#roomconfig_roomname).
    room_names: bool = False
    # IRC needs no account: a user joins a room without registering first.
    needs_registration: bool = True


class HostResolver(Protocol):
    """The operator's policy on which legacy hosts a user may reach.

    Resolves *host* and returns the addresses that may be dialled, or raises
    :class:`bridge.errors.Forbidden` with a text that says which rule refused it.
    """

    async def resolve(self, host: str, port: int) -> list[str]: ...


def room_scope(local: str) -> str:
    """The UserStore scope of a room's settings; *local* is the room JID's local part."""
    return f"room:{local}"


class UserStore(Protocol):
    """Settings a plugin keeps for one user, by scope (a server, a room).

    Values are the plugin's own pydantic models; `SecretStr` fields are sealed at rest
    and registered with the log redactor by the core.
    """

    async def load(self, scope: str, model: type[M]) -> M | None: ...

    async def save(self, scope: str, value: BaseModel) -> None: ...

    async def delete(self, scope: str) -> None: ...


@dataclass(frozen=True, slots=True)
class LoginContext:
    """Everything a plugin needs to log one user in."""

    user: str
    """The XMPP user's bare JID (an opaque key to the plugin)."""
    settings: BaseModel | None
    """The user's registration, as an instance of the network's form model; None if unregistered."""
    emit: EventSink
    hosts: HostResolver
    store: UserStore


@dataclass(frozen=True, slots=True)
class RoomListing:
    """One room of a server's directory (IRC LIST, a Matrix room directory)."""

    room: RoomAddress
    users: int | None = None
    topic: str = ""


@dataclass(frozen=True, slots=True)
class SoftwareVersion:
    """What a legacy contact's client says it is (IRC CTCP VERSION)."""

    name: str
    version: str = ""
    os: str = ""


@dataclass(frozen=True, slots=True)
class MediaStream:
    """An attachment's bytes as the network hands them out, chunk by chunk.

    *size* is None when the network does not say; *chunks* is consumed once. An async
    generator is closed (``aclose``) when the reader stops early.
    """

    media_type: str
    size: int | None
    name: str
    chunks: AsyncIterator[bytes]


@runtime_checkable
class MediaSource(Protocol):
    """Where a session's attachments are read from (the network's media repository)."""

    async def open_media(self, ref: str) -> MediaStream:
        """The bytes behind an :class:`~bridge.events.Attachment`'s *ref*; raises a
        bridge.errors exception (NoSuchRoom when unknown, NotConnected…) when it cannot."""
        ...


def media_source_of(session: LegacySession) -> MediaSource | None:
    """The session's ``media`` attribute when it serves attachments, else None.

    The attribute is optional so that networks without media need not declare it.
    """
    source = getattr(session, "media", None)
    return source if isinstance(source, MediaSource) else None


class LegacySession(Protocol):
    """One user's presence on the legacy network, shared by all their XMPP resources.

    The queries raise bridge.errors.NotSupported where the network has no such thing.
    A session whose messages carry attachments also has ``media``: a :class:`MediaSource`
    (read through :func:`media_source_of`).
    """

    async def apply(self, action: UserAction) -> None:
        """Carry out *action*; raise a bridge.errors exception when it cannot be done."""
        ...

    async def list_rooms(self, server: ServerAddress) -> Sequence[RoomListing]:
        """The rooms *server* lists publicly."""
        ...

    async def contact_version(self, contact: ContactAddress) -> SoftwareVersion:
        """Ask a contact's client what it is."""
        ...

    async def ping_contact(self, contact: ContactAddress) -> float:
        """Round-trip time to a contact's client, in seconds."""
        ...

    async def close(self, reason: str) -> None:
        """Log out and release everything; must not raise."""
        ...


class StoredRegistration(Protocol):
    """The user's registration with this gateway, for commands that renew what it holds
    (a Matrix access token after a new login)."""

    hosts: HostResolver
    """The operator's policy for anything the renewal dials."""

    async def load(self) -> BaseModel | None:
        """The network's form model as stored; None when the user is not registered."""
        ...

    async def replace(self, settings: BaseModel) -> None:
        """Store *settings* (the network's form model) and log in again with them."""
        ...


@dataclass(frozen=True, slots=True)
class CommandContext:
    """Who runs a command, and where."""

    user: str
    target: RoomAddress | ServerAddress | None
    session: LegacySession | None
    store: UserStore
    registration: StoredRegistration | None = None
    """The user's registration; None where the core offers none (a server's command)."""


@dataclass(frozen=True, slots=True)
class NetworkCommand:
    """An ad-hoc command (XEP-0050) a plugin offers; the form is a pydantic model.

    *prefill* gives the values the form opens with; *run* gets the validated
    submission and returns the note the user reads.
    """

    node: str
    name: str
    form: type[BaseModel]
    where: Literal["gateway", "server", "room"]
    run: Callable[[CommandContext, BaseModel], Awaitable[str]]
    prefill: Callable[[CommandContext], Awaitable[BaseModel | None]] | None = None
    admin_only: bool = False


class Network(Protocol):
    """One legacy network, configured for one gateway domain."""

    name: str
    """The short name in disco identities (``gateway/<name>``) and the config file."""
    capabilities: Capabilities
    grammar: Grammar
    registration_form: type[BaseModel]
    """Fields the user registers; `SecretStr` fields are encrypted at rest and never logged."""
    commands: Sequence[NetworkCommand]
    server_registration: NetworkCommand | None
    """The per-server settings XEP-0077 on `server@gw` shows and stores (IRC's `configure`)."""
    room_settings: type[BaseModel] | None
    """Extra per-room fields (IRC: encodings), shown in the room's `configure` command and
    owner form beside the core's; read them with ``store.load(room_scope(local), model)``."""

    async def check_registration(
        self,
        user: str,
        form: BaseModel,
        *,
        hosts: HostResolver,
        previous: BaseModel | None,
    ) -> BaseModel:
        """Validate a submitted registration against the network (e.g. log in once).

        Returns what is to be stored (it may swap a password for a token), or raises
        a bridge.errors exception whose text the form shows. *hosts* is the operator's
        policy for anything the check dials; *previous* is what the user had registered.
        """
        ...

    async def login(self, context: LoginContext) -> LegacySession: ...

    async def remove_registration(
        self, user: str, settings: BaseModel | None, hosts: HostResolver
    ) -> None:
        """XEP-0077 <remove/>: undo on the network what registering did (a Matrix device
        logs out). Runs before the core deletes the user's data; an error is logged and
        never blocks the removal."""
        ...


NetworkFactory = Callable[[Mapping[str, Any]], Network]
