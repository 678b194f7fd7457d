"""The user's own one-to-one messages, written from another legacy client.

They should appear in the user's XMPP clients as sent by the user. Where the user's server
grants the gateway XEP-0356 ``message`` permission ("outgoing"), the gateway hands the
server a message *from the user to the contact*: the server treats it as the user's own,
so XEP-0280 carbons show it in every client (and the archive keeps it). The server then
routes that message to the gateway like any other, which must not send it to the network
again: its id is remembered and the echo dropped. Without the permission the message
comes from the contact's JID with a body that says it was the user's own.
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Callable

from slixmpp import JID
from slixmpp.stanza import Message
from slixmpp.xmlstream import StanzaBase

from bridge.privileges import NS_CLIENT, NS_FORWARD, NS_PRIVILEGE, Privileges

FALLBACK_PREFIX = "(you, from another client) "
MAX_PENDING_ECHOES = 1_000


def as_client_stanza(element: ET.Element) -> ET.Element:
    """A copy of *element* with the stream's namespace replaced by jabber:client, as a
    forwarded stanza is written (XEP-0297)."""
    copied = copy.deepcopy(element)
    outer = copied.tag[1:].partition("}")[0] if copied.tag.startswith("{") else ""
    for node in copied.iter():
        namespace, _, local = node.tag[1:].partition("}")
        if node.tag.startswith("{") and namespace == outer:
            node.tag = f"{{{NS_CLIENT}}}{local}"
    return copied


class OwnMessages:
    """Shows the user's own messages to a contact in their XMPP clients."""

    def __init__(
        self, *, gateway_jid: str, privileges: Privileges, send: Callable[[StanzaBase], None]
    ) -> None:
        self._jid = gateway_jid
        self._privileges = privileges
        self._send = send
        self._pending: OrderedDict[str, None] = OrderedDict()

    def show(self, message: Message) -> None:
        """*message* is ready to go from the contact to the user; it was the user's own."""
        user, contact = message["to"].bare, message["from"].bare
        if self._privileges.granted(user).message != "outgoing":
            message["body"] = FALLBACK_PREFIX + message["body"]
            self._send(message)
            return
        message["from"], message["to"] = user, contact
        self._pending[message["id"]] = None
        while len(self._pending) > MAX_PENDING_ECHOES:
            self._pending.popitem(last=False)
        wrapper = Message()
        wrapper["from"], wrapper["to"] = self._jid, JID(user).domain
        privilege = ET.SubElement(wrapper.xml, f"{{{NS_PRIVILEGE}}}privilege")
        forwarded = ET.SubElement(privilege, f"{{{NS_FORWARD}}}forwarded")
        forwarded.append(as_client_stanza(message.xml))
        self._send(wrapper)

    def is_echo(self, message: Message) -> bool:
        """Whether *message* is the server routing one of ours back (bare JID, our id)."""
        if message["from"].resource or message["id"] not in self._pending:
            return False
        del self._pending[message["id"]]
        return True
