"""Unit tests of the Matrix plugin's pure pieces (no homeserver needed)."""
