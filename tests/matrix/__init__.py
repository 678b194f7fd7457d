"""End-to-end tests against a real Synapse: the homeserver fixtures and the Matrix plugin."""
