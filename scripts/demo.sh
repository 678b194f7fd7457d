#!/usr/bin/env bash
# The demo: `bash scripts/demo.sh`. Sets up what is missing (Debian packages, .venv), then
# starts a throw-away Prosody + ngircd with the IRC gateway attached and prints how to connect.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
XMPP_BRIDGE_SKIP_SYNAPSE=1 source scripts/setup.sh
exec "$VENV/bin/xmpp-bridge" demo "$@"
