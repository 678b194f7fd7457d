"""The Synapse fixtures of tests/matrix, for the Matrix measuring client."""

from tests.matrix.conftest import matrix_user, synapse

__all__ = ["matrix_user", "synapse"]
