#!/usr/bin/env bash
# The benchmarks: `bash scripts/bench.sh [--quick] [--repeat N] [--out FILE.json] [--only NAME ...]`.
#
# On a fresh Debian 12 (Python 3.11, root) it installs what the run needs (Prosody, ngircd,
# Biboumi, Synapse, .venv with the project), then starts its own servers on loopback, measures
# xmpp-bridge beside Biboumi and the bare servers, prints a table and writes JSON. Arguments go
# to `python -m benchmarks`; docs/benchmarks.md explains them and the figures.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

source scripts/setup.sh

say "benchmarks $*"
exec "$VENV/bin/python" -m benchmarks "$@"
