"""The Matrix network plugin: rooms and people of a Matrix homeserver behind an XMPP gateway.

The pure pieces (addresses, formatting, event translation, room members) do no I/O, so
they are tested without a homeserver; the session shell around matrix-nio drives them.
"""
