"""Throw-away Prosody and ngircd servers on loopback, for the test suite and `xmpp-bridge demo`."""

from bridge.devservers.ngircd import IrcOperator, Ngircd
from bridge.devservers.ports import free_port
from bridge.devservers.process import ServerError
from bridge.devservers.prosody import ComponentSpec, Prosody

__all__ = ["ComponentSpec", "IrcOperator", "Ngircd", "Prosody", "ServerError", "free_port"]
