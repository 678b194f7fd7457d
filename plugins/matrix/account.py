"""The gateway's Matrix device: logged in again (`relogin`), out (`logout`), and out for
good when the user removes their registration.

A new login makes a new device; the previous one is logged out so the user's device list
does not fill with dead gateway sessions. The registration itself stays with `logout`,
so `relogin` needs only the password.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from pydantic import BaseModel, Field, SecretStr

from bridge.errors import AuthFailed, LegacyError
from bridge.network import CommandContext, HostResolver, NetworkCommand, StoredRegistration
from plugins.matrix.settings import MatrixRegistration

log = logging.getLogger(__name__)

LogIn = Callable[[str, MatrixRegistration, HostResolver], Awaitable[MatrixRegistration]]
"""Logs in with the registration's password; returns it with the new token and device."""
LogOut = Callable[[MatrixRegistration, HostResolver], Awaitable[None]]
"""Ends the registration's device session on the homeserver (its token stops working)."""


class ReloginForm(BaseModel):
    password: SecretStr = Field(
        title="Password",
        description="Your Matrix password, used once for a new login; it is not stored.",
    )


class NoFields(BaseModel):
    """A command that asks nothing."""


def logged_in(settings: BaseModel | None) -> MatrixRegistration | None:
    """The registration when it holds an access token."""
    if isinstance(settings, MatrixRegistration) and settings.access_token.get_secret_value():
        return settings
    return None


async def _log_out_quietly(
    log_out: LogOut, settings: MatrixRegistration, hosts: HostResolver
) -> bool:
    try:
        await log_out(settings, hosts)
    except LegacyError as error:
        log.info("the previous Matrix device was not logged out: %s", error)
        return False
    return True


def _registration(context: CommandContext) -> StoredRegistration:
    if context.registration is None:
        raise AuthFailed("Register with your Matrix ID and password first.")
    return context.registration


def account_commands(log_in: LogIn, log_out: LogOut) -> tuple[NetworkCommand, ...]:
    async def relogin(context: CommandContext, form: BaseModel) -> str:
        assert isinstance(form, ReloginForm)
        stored = _registration(context)
        current = await stored.load()
        if not isinstance(current, MatrixRegistration):
            raise AuthFailed("Register with your Matrix ID and password first.")
        renewed = await log_in(
            context.user, current.model_copy(update={"password": form.password}), stored.hosts
        )
        await stored.replace(renewed)
        previous = logged_in(current)
        if previous is not None and not await _log_out_quietly(log_out, previous, stored.hosts):
            return f"Logged in again as {renewed.matrix_id}; the previous device stays listed."
        return f"Logged in again as {renewed.matrix_id}."

    async def logout(context: CommandContext, form: BaseModel) -> str:
        stored = _registration(context)
        current = logged_in(await stored.load())
        if current is None:
            return "The gateway is not logged in to Matrix: use relogin to log in."
        cleared = {"access_token": SecretStr(""), "device_id": SecretStr("")}
        await stored.replace(current.model_copy(update=cleared))
        done = await _log_out_quietly(log_out, current, stored.hosts)
        outcome = "" if done else " (the homeserver did not confirm; the device may stay listed)"
        return f"Logged out of Matrix{outcome}. Use relogin to log in again."

    return (
        NetworkCommand("relogin", "Log in to Matrix again", ReloginForm, "gateway", relogin),
        NetworkCommand("logout", "Log out of Matrix", NoFields, "gateway", logout),
    )
