"""Commands for the operator's admins: disconnect a user, reload the configuration."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field
from slixmpp import JID

from bridge.errors import BadRequest, NotSupported
from bridge.network import CommandContext, NetworkCommand

if TYPE_CHECKING:
    from bridge.gateway import Gateway

Reloader = Callable[[], Awaitable[str]]


class UserToDisconnect(BaseModel):
    jid: str = Field(title="User", description="The bare JID of the user to disconnect.")


class NoFields(BaseModel):
    """A command that asks nothing."""


def admin_commands(gateway: Gateway) -> list[NetworkCommand]:
    async def disconnect(context: CommandContext, form: BaseModel) -> str:
        assert isinstance(form, UserToDisconnect)
        try:
            user = JID(form.jid.strip()).bare
        except ValueError:
            raise BadRequest(f"'{form.jid}' is not a JID.") from None
        gateway.muc.user_gone(user)
        if await gateway.sessions.logout(user, "disconnected by an administrator"):
            return f"{user} is disconnected; they log in again when they next come online."
        return f"{user} had no session."

    async def reload(context: CommandContext, form: BaseModel) -> str:
        if gateway.reloader is None:
            raise NotSupported("This gateway was not started from a configuration file.")
        return await gateway.reloader()

    return [
        NetworkCommand(
            node="disconnect-user",
            name="Disconnect a user",
            form=UserToDisconnect,
            where="gateway",
            run=disconnect,
            admin_only=True,
        ),
        NetworkCommand(
            node="reload",
            name="Reload the configuration",
            form=NoFields,
            where="gateway",
            run=reload,
            admin_only=True,
        ),
    ]
