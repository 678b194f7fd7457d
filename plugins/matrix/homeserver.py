"""What the Matrix network says to homeservers: find one, log in, log out, start a session.

Everything here needs matrix-nio (and with it jsonschema, h2, pycryptodome...: ~8 MB, ~160
modules), so :class:`plugins.matrix.network.MatrixNetwork` imports this module at its first
registration or login, not when the gateway starts.
"""

from __future__ import annotations

import logging

from aiohttp import ClientError
from nio import DiscoveryInfoResponse, LoginResponse, LogoutResponse
from pydantic import SecretStr

from bridge.errors import AuthFailed, BadRequest, NotConnected
from bridge.network import HostResolver, LoginContext
from plugins.matrix.actions import failure
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


class Homeserver:
    """The homeserver side of the network, for the options the operator configured."""

    def __init__(self, options: MatrixOptions) -> None:
        self.options = options

    async def log_in(
        self, user: str, form: MatrixRegistration, password: str, hosts: HostResolver
    ) -> MatrixRegistration:
        """Log in once with the password; keep the token and device, forget the password."""
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

    async def log_out(self, settings: MatrixRegistration, hosts: HostResolver) -> None:
        """End the device's session on the homeserver (its token stops working)."""
        client = await open_client(settings.homeserver, settings.matrix_id, hosts)
        client.restore_login(
            settings.matrix_id,
            settings.device_id.get_secret_value(),
            settings.access_token.get_secret_value(),
        )
        try:
            answer = await client.logout()
        except (ClientError, TimeoutError) as error:
            raise NotConnected(f"{settings.homeserver} did not answer: {error}") from None
        finally:
            await client.close()
        if not isinstance(answer, LogoutResponse):
            raise failure(answer, "The homeserver did not log the gateway's device out")

    async def start_session(
        self, context: LoginContext, settings: MatrixRegistration
    ) -> MatrixSession:
        """A running session with the stored access token (no password, no new device)."""
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
