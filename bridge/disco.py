"""XEP-0030 answers for every JID under the gateway domain.

slixmpp's disco plugin keeps a static table per JID; ours are unbounded (one per
server, room and person), so the answers are computed from where the JID points.
"""

from __future__ import annotations

from collections.abc import Callable

from slixmpp import JID
from slixmpp.plugins.xep_0004 import Form
from slixmpp.plugins.xep_0030.stanza.info import DiscoInfo as DiscoInfoStanza
from slixmpp.plugins.xep_0030.stanza.items import DiscoItems
from slixmpp.stanza import Iq
from slixmpp.xmlstream import register_stanza_plugin

from bridge.addressing import AddressError
from bridge.caps import DiscoInfo, Identity, InfoForm
from bridge.errors import XmppError
from bridge.replies import error_reply
from bridge.routing import ContactPlace, GatewayPlace, Place, RoomPlace, ServerPlace

register_stanza_plugin(Iq, DiscoInfoStanza)
register_stanza_plugin(Iq, DiscoItems)

COMMANDS_NODE = "http://jabber.org/protocol/commands"
BASE_FEATURES = (
    "http://jabber.org/protocol/disco#info",
    "http://jabber.org/protocol/disco#items",
    "urn:xmpp:ping",
)

InfoSource = Callable[[Place, JID], DiscoInfo | None]
CommandItems = Callable[[JID, JID], list[tuple[str, str]]]
CommandCheck = Callable[[JID, str, JID], bool]


class DiscoService:
    def __init__(
        self,
        *,
        locate: Callable[[JID], Place],
        info_for: InfoSource,
        caps_node: str,
        command_items: CommandItems,
        has_command: CommandCheck,
        send: Callable[[Iq], None],
    ) -> None:
        self._locate = locate
        self._info_for = info_for
        self._caps_node = caps_node
        self._command_items = command_items
        self._has_command = has_command
        self._send = send

    def on_info(self, iq: Iq) -> None:
        node = iq["disco_info"]["node"]
        if node == COMMANDS_NODE:
            info: DiscoInfo | None = DiscoInfo((Identity("automation", "command-list"),), ())
        elif node.startswith(self._caps_node + "#"):
            info = self._caps_info(iq, node)
        elif node:
            info = self._command_node_info(iq, node)
        else:
            place = self._place(iq)
            info = None if place is None else self._info_for(place, iq["from"])
        if info is None:
            text = f"{iq['to']} names nothing this gateway knows."
            self._send(error_reply(iq, XmppError("cancel", "item-not-found"), text))
            return
        reply: Iq = iq.reply(clear=True)
        query = reply["disco_info"]
        if node:
            query["node"] = node
        for identity in info.identities:
            query.add_identity(identity.category, identity.type, identity.name or None)
        for feature in info.features:
            query.add_feature(feature)
        for extension in info.forms:
            query.append(_result_form(extension))
        self._send(reply)

    def on_items(self, iq: Iq) -> None:
        node = iq["disco_items"]["node"]
        reply: Iq = iq.reply(clear=True)
        if node == COMMANDS_NODE:
            reply["disco_items"]["node"] = node
            for command_node, name in self._command_items(iq["to"], iq["from"]):
                reply["disco_items"].add_item(iq["to"], command_node, name)
        elif node or self._place(iq) is None:
            text = f"{iq['to']} has no items under node '{node}'."
            self._send(error_reply(iq, XmppError("cancel", "item-not-found"), text))
            return
        else:
            reply.enable("disco_items")
        self._send(reply)

    def _caps_info(self, iq: Iq, node: str) -> DiscoInfo | None:
        """XEP-0115 §6.2: the node#ver a presence announced names the same information."""
        place = self._place(iq)
        info = None if place is None else self._info_for(place, iq["from"])
        if info is None or node != f"{self._caps_node}#{info.caps_ver()}":
            return None
        return info

    def _command_node_info(self, iq: Iq, node: str) -> DiscoInfo | None:
        if not self._has_command(iq["to"], node, iq["from"]):
            return None
        return DiscoInfo(
            (Identity("automation", "command-node"),),
            (COMMANDS_NODE, "jabber:x:data"),
        )

    def _place(self, iq: Iq) -> Place | None:
        try:
            return self._locate(iq["to"])
        except AddressError:
            return None


def _result_form(extension: InfoForm) -> Form:
    """A XEP-0128 form: FORM_TYPE hidden, the other fields text-multi."""
    form = Form()
    form["type"] = "result"
    form.add_field(var="FORM_TYPE", ftype="hidden", value=extension.form_type)
    for var, values in extension.fields:
        form.add_field(var=var, ftype="text-multi", value=list(values))
    return form


def describe_place(
    place: Place,
    *,
    gateway: DiscoInfo,
    network_name: str,
    room_info: Callable[[RoomPlace], DiscoInfo],
) -> DiscoInfo:
    """Identities and features of each kind of JID; rooms come from the MUC emulation."""
    if isinstance(place, GatewayPlace):
        return gateway
    if isinstance(place, ServerPlace):
        return DiscoInfo(
            (Identity("conference", network_name, place.server.server),),
            (*BASE_FEATURES, COMMANDS_NODE),
        )
    if isinstance(place, RoomPlace):
        return room_info(place)
    assert isinstance(place, ContactPlace)
    return DiscoInfo((Identity("client", "pc", place.contact.name),), BASE_FEATURES)
