#!/usr/bin/env bash
# Shared set-up of scripts/test.sh, scripts/demo.sh and scripts/bench.sh, sourced by each: on a
# fresh Debian 12 (Python 3.11, root) it installs the servers (Prosody, ngircd, PostgreSQL, and
# Biboumi, the gateway the benchmarks compare with) and creates .venv with the project. Running
# it again does only what is missing.

VENV=.venv
EXTRAS='.[test,irc,matrix]'
STAMP="$VENV/.xmpp-bridge-install-stamp"

say() { printf '\n==> %s\n' "$*"; }
fail() { printf '\n%s: %s\n' "$0" "$*" >&2; exit 1; }

# --- Debian packages: Prosody (XMPP) and its modules, ngircd (IRC), PostgreSQL, Biboumi ----------
missing_packages() {
    command -v prosody >/dev/null || [[ -x /usr/bin/prosody ]] || echo prosody
    # mod_privilege (XEP-0356) for the tests of roster pushes and bookmarks
    [[ -f /usr/lib/prosody/modules/mod_privilege/mod_privilege.lua ]] || echo prosody-modules
    command -v ngircd >/dev/null || [[ -x /usr/sbin/ngircd ]] || echo ngircd
    compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || echo postgresql
    command -v biboumi >/dev/null || [[ -x /usr/bin/biboumi ]] || echo biboumi
}

install_packages() {
    local packages=("$@")
    [[ $(id -u) -eq 0 ]] ||
        fail "missing Debian packages: ${packages[*]}; install them with: sudo apt-get install -y ${packages[*]}"
    command -v apt-get >/dev/null ||
        fail "missing packages ${packages[*]} and no apt-get: install them with your package manager"
    say "Installing Debian packages: ${packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || fail "apt-get update failed (is a Debian mirror reachable?)"
    apt-get install -y -qq "${packages[@]}" >/dev/null || fail "apt-get install ${packages[*]} failed"
    # The tests start their own servers on free ports; the system daemons must not hold any
    # (a running Biboumi would hold identd's port 113 and keep dialling port 5347).
    local daemon
    for daemon in prosody ngircd postgresql biboumi; do
        service "$daemon" stop >/dev/null 2>&1 || true
        if command -v systemctl >/dev/null; then
            systemctl disable "$daemon" >/dev/null 2>&1 || true
        fi
        update-rc.d "$daemon" disable >/dev/null 2>&1 || true
    done
}

mapfile -t MISSING < <(missing_packages)
if ((${#MISSING[@]})); then
    install_packages "${MISSING[@]}"
fi

# --- Python virtual environment with the project, editable ------------------------------------
PYTHON=$(command -v python3.11 || command -v python3 || true)
[[ -n $PYTHON ]] || fail "no python3 found: apt-get install python3 python3-venv"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    fail "$PYTHON is older than Python 3.11, which xmpp-bridge needs"

if [[ ! -x $VENV/bin/python ]]; then
    say "Creating $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV" || fail "could not create $VENV: apt-get install python3-venv"
fi

WANTED_STAMP="$(sha256sum pyproject.toml | cut -d' ' -f1) $EXTRAS"
if [[ ! -f $STAMP || $(<"$STAMP") != "$WANTED_STAMP" ]]; then
    say "Installing xmpp-bridge$EXTRAS into $VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$EXTRAS" ||
        fail "pip install -e '$EXTRAS' failed (see pip's output above)"
    printf '%s' "$WANTED_STAMP" >"$STAMP"
fi

# --- Synapse (Matrix homeserver of the test suite) --------------------------------------------
# Its own virtual environment (about a minute and 240 MB), kept outside the repository in a cache
# directory named by version, so every clone and run reuses it. A stamp written last marks it
# complete: an interrupted install is started again from scratch.
SYNAPSE_VERSION=1.163.2
SYNAPSE_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/xmpp-bridge/synapse-$SYNAPSE_VERSION"
SYNAPSE_STAMP="$SYNAPSE_VENV/.xmpp-bridge-complete"

# The demo needs no Matrix homeserver: scripts/demo.sh sets XMPP_BRIDGE_SKIP_SYNAPSE=1.
if [[ ${XMPP_BRIDGE_SKIP_SYNAPSE:-0} != 1 && ! -f $SYNAPSE_STAMP ]]; then
    say "Installing Synapse $SYNAPSE_VERSION into $SYNAPSE_VENV (once, about a minute)"
    rm -rf "$SYNAPSE_VENV"
    mkdir -p "$(dirname "$SYNAPSE_VENV")" || fail "cannot create $(dirname "$SYNAPSE_VENV")"
    synapse_log=$(mktemp)
    if ! { "$PYTHON" -m venv "$SYNAPSE_VENV" &&
        "$SYNAPSE_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
            --no-input --root-user-action=ignore "matrix-synapse==$SYNAPSE_VERSION"; } >"$synapse_log" 2>&1; then
        cat "$synapse_log" >&2
        rm -f "$synapse_log"
        rm -rf "$SYNAPSE_VENV"
        fail "installing matrix-synapse==$SYNAPSE_VERSION into $SYNAPSE_VENV failed (pip's output above)"
    fi
    rm -f "$synapse_log"
    touch "$SYNAPSE_STAMP"
fi
# bridge.devservers.Synapse runs this interpreter.
export XMPP_BRIDGE_SYNAPSE_PYTHON="$SYNAPSE_VENV/bin/python"

