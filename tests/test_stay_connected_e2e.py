"""A user who stays connected: their session outlives their last XMPP client, and the
legacy network is told they went offline instead of seeing them online forever."""

from slixmpp.plugins.xep_0004 import Form

from bridge.events import SetPresence, Show
from tests.bridge_fixture import BridgeStarter
from tests.conftest import XmppUserFactory
from tests.waiting import wait_until


async def test_last_client_gone_keeps_the_session_and_shows_offline(
    start_bridge: BridgeStarter, xmpp_user: XmppUserFactory
) -> None:
    run = await start_bridge()
    alice = await xmpp_user("alice")
    user = alice.boundjid.bare
    form = Form()
    form["type"] = "submit"
    for var, value in (("username", "alice"), ("password", "pw"), ("stay_connected", "1")):
        form.add_field(var=var, value=value)
    iq = alice.Iq()
    iq["to"], iq["type"] = run.jid, "set"
    iq["register"].append(form)
    assert (await alice.iq(iq))["type"] == "result"
    await wait_until(lambda: run.gateway.sessions.session_of(user) is not None, 10, "no login")

    await alice.stop()
    offline = (user, SetPresence(Show.OFFLINE))
    await wait_until(lambda: offline in run.world.presences, 10, "the network was not told")
    assert run.gateway.sessions.session_of(user) is not None, "stay connected: no logout"
    assert user not in run.world.logouts
