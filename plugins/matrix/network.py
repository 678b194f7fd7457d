"""The Matrix network for the core: options, registration (a login once), and logins."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from aiohttp import ClientError
from nio import DiscoveryInfoResponse, LoginResponse
from pydantic import BaseModel, SecretStr, ValidationError

from bridge.errors import AuthFailed, BadRequest
from bridge.network import Capabilities, HostResolver, LoginContext, NetworkCommand
from plugins.matrix.account import account_commands, log_out, logged_in
from plugins.matrix.addresses import MatrixGrammar
from plugins.matrix.client import open_client
from plugins.matrix.session import MatrixSession
from plugins.matrix.settings import MatrixOptions, MatrixRegistration

log = logging.getLogger(__name__)

WRONG_CREDENTIALS = frozenset({"M_FORBIDDEN", "M_USER_DEACTIVATED", "M_INVALID_USERNAME"})


async def discover_homeserver(server_name: str, hosts: HostResolver) -> str:
    """The base URL `.well-known/matrix/client` of *server_name* names, else https://server."""
    fallback = f"https://{server_name}"
    client = await open_client(fallback, "", hosts)
    try:
        answer = await client.discovery_info()
    except (ClientError, TimeoutError) as error:
        log.info("no .well-known for %s (%s): trying %s", server_name, error, fallback)
        return fallback
    finally:
        await client.close()
    if isinstance(answer, DiscoveryInfoResponse) and answer.homeserver_url:
        return str(answer.homeserver_url).rstrip("/")
    return fallback


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
        self.commands: tuple[NetworkCommand, ...] = account_commands(self._log_in)

    async def _log_in(
        self, user: str, form: MatrixRegistration, hosts: HostResolver
    ) -> MatrixRegistration:
        return await self.check_registration(user, form, hosts=hosts, previous=form)

    async def remove_registration(
        self, user: str, settings: BaseModel | None, hosts: HostResolver
    ) -> None:
        """The gateway's device logs out: its access token stops working at once."""
        registration = logged_in(settings)
        if registration is not None:
            await log_out(registration, hosts)
            log.info("the Matrix device of %s is logged out", user)

    async def check_registration(
        self, user: str, form: BaseModel, *, hosts: HostResolver, previous: BaseModel | None
    ) -> MatrixRegistration:
        """Log in once with the password; keep the token and device, forget the password."""
        assert isinstance(form, MatrixRegistration)
        password = form.password.get_secret_value()
        if not password:
            raise BadRequest("Password: required to log in (it is used once, never stored).")
        homeserver = form.homeserver or await discover_homeserver(form.server_name, hosts)
        client = await open_client(homeserver, form.matrix_id, hosts)
        try:
            answer = await client.login(password, device_name=form.device_name)
        except (ClientError, TimeoutError) as error:
            raise BadRequest(
                f"Homeserver URL: could not reach {homeserver} ({type(error).__name__}: {error})."
                " Check the URL, or leave it empty to find it from your Matrix ID."
            ) from None
        finally:
            await client.close()
        if not isinstance(answer, LoginResponse):
            code, text = str(answer.status_code), str(answer.message)
            if code in WRONG_CREDENTIALS:
                raise AuthFailed(
                    f"Wrong Matrix ID or password: {homeserver} refused to log in"
                    f" {form.matrix_id} ({code}: {text})."
                )
            raise BadRequest(
                f"Homeserver URL: {homeserver} did not log you in as a Matrix homeserver"
                f" would ({code}: {text})."
            )
        log.info("%s registered as %s on %s", user, answer.user_id, homeserver)
        return form.model_copy(
            update={
                "homeserver": homeserver,
                "matrix_id": answer.user_id,
                "password": SecretStr(""),
                "access_token": SecretStr(answer.access_token),
                "device_id": SecretStr(answer.device_id),
            }
        )

    async def login(self, context: LoginContext) -> MatrixSession:
        settings = context.settings
        if not isinstance(settings, MatrixRegistration):
            raise AuthFailed("Register with your Matrix ID and password first.")
        if not settings.access_token.get_secret_value():
            raise AuthFailed(
                "The gateway is logged out of Matrix: run the relogin command to log in again."
            )
        device_id = settings.device_id.get_secret_value()
        client = await open_client(
            settings.homeserver, settings.matrix_id, context.hosts, device_id=device_id
        )
        client.restore_login(
            settings.matrix_id, device_id, settings.access_token.get_secret_value()
        )
        session = MatrixSession(client, context, self.options)
        session.start()
        return session


def create(options: Mapping[str, Any]) -> MatrixNetwork:
    return MatrixNetwork(options)
