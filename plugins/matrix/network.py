"""The Matrix network for the core: options, registration (a login once), and logins."""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from bridge.errors import AuthFailed, BadRequest
from bridge.network import Capabilities, HostResolver, LoginContext, NetworkCommand
from plugins.matrix.account import account_commands, logged_in
from plugins.matrix.addresses import MatrixGrammar
from plugins.matrix.settings import MatrixOptions, MatrixRegistration

if TYPE_CHECKING:
    from plugins.matrix.homeserver import Homeserver
    from plugins.matrix.session import MatrixSession

log = logging.getLogger(__name__)


class MatrixNetwork:
    name = "matrix"
    capabilities = Capabilities(
        needs_registration=True,
        typing=True,
        edits=True,
        reactions=True,
        replies=True,
        receipts=True,
        media=True,
        room_names=True,
    )
    grammar = MatrixGrammar()
    registration_form = MatrixRegistration
    server_registration: NetworkCommand | None = None
    room_settings: type[BaseModel] | None = None

    def __init__(self, options: Mapping[str, Any]) -> None:
        try:
            self.options = MatrixOptions.model_validate(dict(options))
        except ValidationError as error:
            raise ValueError(str(error)) from None
        self.commands: tuple[NetworkCommand, ...] = account_commands(self._log_in, self._log_out)

    @functools.cached_property
    def _homeserver(self) -> Homeserver:
        """What speaks to homeservers; matrix-nio with it (~8 MB) is imported at the first
        registration, login or logout, not when the gateway starts."""
        from plugins.matrix.homeserver import Homeserver

        return Homeserver(self.options)

    async def _log_in(
        self, user: str, form: MatrixRegistration, hosts: HostResolver
    ) -> MatrixRegistration:
        return await self.check_registration(user, form, hosts=hosts, previous=form)

    async def _log_out(self, settings: MatrixRegistration, hosts: HostResolver) -> None:
        await self._homeserver.log_out(settings, hosts)

    async def remove_registration(
        self, user: str, settings: BaseModel | None, hosts: HostResolver
    ) -> None:
        """The gateway's device logs out: its access token stops working at once."""
        registration = logged_in(settings)
        if registration is not None:
            await self._log_out(registration, hosts)
            log.info("the Matrix device of %s is logged out", user)

    async def check_registration(
        self, user: str, form: BaseModel, *, hosts: HostResolver, previous: BaseModel | None
    ) -> MatrixRegistration:
        """Log in once with the password; keep the token and device, forget the password."""
        assert isinstance(form, MatrixRegistration)
        password = form.password.get_secret_value()
        if not password:
            raise BadRequest("Password: required to log in (it is used once, never stored).")
        return await self._homeserver.log_in(user, form, password, hosts)

    async def login(self, context: LoginContext) -> MatrixSession:
        settings = context.settings
        if not isinstance(settings, MatrixRegistration):
            raise AuthFailed("Register with your Matrix ID and password first.")
        if not settings.access_token.get_secret_value():
            raise AuthFailed(
                "The gateway is logged out of Matrix: run the relogin command to log in again."
            )
        return await self._homeserver.start_session(context, settings)


def create(options: Mapping[str, Any]) -> MatrixNetwork:
    return MatrixNetwork(options)
