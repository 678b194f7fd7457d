"""Free loopback TCP ports for servers started by this process."""

import socket
import threading

LOOPBACK = "127.0.0.1"

_handed_out: set[int] = set()
_lock = threading.Lock()


def free_port() -> int:
    """Return a loopback port nothing listens on, never the same one twice in this process.

    The kernel picks the port (bind to port 0); remembering what was handed out keeps two
    servers started back to back from both being given a port neither has bound yet.
    """
    with _lock:
        while True:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.bind((LOOPBACK, 0))
                port: int = probe.getsockname()[1]
            if port not in _handed_out:
                _handed_out.add(port)
                return port
