"""The gateway's Matrix device end to end: <remove/>, `logout` and `relogin` on Synapse."""

from __future__ import annotations

import aiohttp

from bridge.devservers import Synapse
from tests.bridge_fixture import BridgeStarter, Running
from tests.conftest import XmppUserFactory
from tests.matrix.test_matrix_e2e import registered_user, start_matrix_bridge
from tests.waiting import wait_until


async def whoami_status(synapse: Synapse, token: str) -> int:
    """200 while *token* works, 401 once its device is logged out."""
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{synapse.base_url}/_matrix/client/v3/account/whoami", headers=headers) as answer,
    ):
        return answer.status


async def stored_token(run: Running, user: str) -> str:
    row = await run.gateway.store.registrations.get(run.jid, user)
    assert row is not None, f"{user} has no registration"
    return row.secrets.get("access_token", "")


async def test_removing_the_registration_logs_the_matrix_device_out(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory, synapse: Synapse
) -> None:
    run = await start_matrix_bridge(start_bridge)
    client, _account, _password = await registered_user(xmpp_user, run, synapse)
    token = await stored_token(run, client.boundjid.bare)
    assert await whoami_status(synapse, token) == 200

    iq = client.Iq()
    iq["to"], iq["type"] = run.jid, "set"
    iq["register"]["remove"] = True
    assert (await client.iq(iq))["type"] == "result"

    assert await whoami_status(synapse, token) == 401


async def test_logout_then_relogin_gives_a_new_working_device(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory, synapse: Synapse
) -> None:
    run = await start_matrix_bridge(start_bridge)
    client, account, password = await registered_user(xmpp_user, run, synapse)
    user = client.boundjid.bare
    first = await stored_token(run, user)

    done = await client.command(run.jid, "logout")
    assert done["command"]["status"] == "completed", done
    assert "Logged out of Matrix" in done["command"]["notes"][0][1]
    assert await whoami_status(synapse, first) == 401
    assert await stored_token(run, user) == ""
    assert await run.gateway.store.registrations.get(run.jid, user) is not None

    wrong = await client.command(run.jid, "relogin", password="not the password")
    assert wrong["command"]["notes"][0][0] == "error", wrong
    assert "Wrong Matrix ID or password" in wrong["command"]["notes"][0][1]
    done = await client.command(run.jid, "relogin", password=password)
    assert done["command"]["notes"] == [("info", f"Logged in again as {account.user_id}.")]
    second = await stored_token(run, user)
    assert second and second != first
    assert await whoami_status(synapse, second) == 200
    await wait_until(lambda: run.gateway.sessions.session_of(user) is not None, 10, "the login")


async def test_relogin_logs_the_previous_device_out(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory, synapse: Synapse
) -> None:
    run = await start_matrix_bridge(start_bridge)
    client, _account, password = await registered_user(xmpp_user, run, synapse)
    first = await stored_token(run, client.boundjid.bare)

    done = await client.command(run.jid, "relogin", password=password)

    assert done["command"]["status"] == "completed", done
    second = await stored_token(run, client.boundjid.bare)
    assert await whoami_status(synapse, second) == 200
    assert await whoami_status(synapse, first) == 401
