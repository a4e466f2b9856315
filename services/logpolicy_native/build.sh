#!/usr/bin/env bash
# Builds the native log scanner (arenahub_logscan) and installs it into the venv given as $1.
#
#   services/logpolicy_native/build.sh .venv
#
# Idempotent and cached: the wheel is kept under ~/.cache/arenahub/logscan/wheels/<source hash>
# (the cargo target folder and the maturin tool venv live there too, never in the repository),
# and a venv that already holds the wheel of the current sources is left alone. Needs cargo;
# maturin comes from PyPI into its own tool venv. Without cargo it says so and exits 0, because
# arenahub.logpolicy then uses the pure-Python scanner, which gives the same verdicts.
set -euo pipefail

VENV=${1:?usage: $0 VENV (the virtual environment to install arenahub_logscan into)}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${ARENAHUB_CACHE_DIR:-$HOME/.cache/arenahub}/logscan
PY=$VENV/bin/python
STAMP=$VENV/.arenahub-logscan-hash

if [ ! -x "$PY" ]; then
    echo "build.sh: no Python at $PY; create the venv first (make venv)." >&2
    exit 2
fi

# The source hash names the wheel: any change to the Rust sources or manifests rebuilds it.
HASH=$(cd "$HERE" && cat Cargo.toml Cargo.lock pyproject.toml src/*.rs | sha256sum | cut -c1-16)

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$HASH" ] && "$PY" -c "import arenahub_logscan" 2>/dev/null; then
    echo "arenahub_logscan $HASH already installed in $VENV"
    exit 0
fi

WHEELS=$CACHE/wheels/$HASH
if ! ls "$WHEELS"/*.whl >/dev/null 2>&1; then
    if ! command -v cargo >/dev/null; then
        CARGO_HOME_BIN=${CARGO_HOME:-$HOME/.cargo}/bin
        if [ -x "$CARGO_HOME_BIN/cargo" ]; then
            export PATH=$CARGO_HOME_BIN:$PATH
        else
            echo "build.sh: cargo not found; arenahub.logpolicy will use its pure-Python scanner." \
                "Install Rust (https://rustup.rs) to build the faster native one." >&2
            exit 0
        fi
    fi
    TOOLS=$CACHE/tools
    if [ ! -x "$TOOLS/bin/maturin" ]; then
        "$PY" -m venv "$TOOLS"
        "$TOOLS/bin/pip" install --quiet 'maturin>=1.5,<2'
    fi
    mkdir -p "$WHEELS.partial"
    CARGO_TARGET_DIR=$CACHE/target "$TOOLS/bin/maturin" build --release --quiet \
        --manifest-path "$HERE/Cargo.toml" --interpreter "$PY" --out "$WHEELS.partial"
    rm -rf "$WHEELS"
    mv "$WHEELS.partial" "$WHEELS"
fi

"$PY" -m pip install --quiet --no-deps --force-reinstall "$WHEELS"/*.whl
echo "$HASH" > "$STAMP"
echo "arenahub_logscan $HASH installed in $VENV"
