"""The IRC network plugin: channels as rooms, nicks as contacts (entry point `irc`)."""
