"""Throw-away Prosody, ngircd and Synapse on loopback, for the test suite and `xmpp-bridge demo`."""

from bridge.devservers.ngircd import IrcOperator, Ngircd
from bridge.devservers.ports import free_port
from bridge.devservers.process import ServerError
from bridge.devservers.prosody import ComponentSpec, Prosody
from bridge.devservers.synapse import MatrixAccount, Synapse

__all__ = [
    "ComponentSpec",
    "IrcOperator",
    "MatrixAccount",
    "Ngircd",
    "Prosody",
    "ServerError",
    "Synapse",
    "free_port",
]
