"""xmpp-bridge: an XMPP transport (XEP-0100) to legacy networks, as an XEP-0114 component."""

__version__ = "0.1.0"
