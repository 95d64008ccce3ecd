#!/usr/bin/env bash
# Runs schemathesis (PyPI, pinned) against a live `weir start` on loopback:
# every check, every phase including the stateful one, with the system API's
# bearer token. Fails on any server error, schema violation or refusal of a
# schema-valid request, and unless the API still answers at the end.
#   scripts/schemathesis.sh            (WEIR_ST_MAX_EXAMPLES bounds the run, default 25)
# The venv is cached (WEIR_ST_VENV, default ~/.cache/weir/schemathesis-VERSION)
# so a re-run installs nothing. The binary is built in the dev profile.
set -euo pipefail
cd "$(dirname "$0")/.."

version=4.32.5
venv="${WEIR_ST_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/weir/schemathesis-$version}"
examples="${WEIR_ST_MAX_EXAMPLES:-25}"
port="${WEIR_ST_PORT:-18801}"

if [[ ! -x "$venv/bin/schemathesis" ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "schemathesis==$version"
fi

cargo build --quiet --bin weir
target="${CARGO_TARGET_DIR:-target}"
work="$(mktemp -d)"
token="st-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
cleanup() {
    [[ -n "${pid:-}" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

(
    cd "$work"
    WEIR_TOKEN="$token" WEIR_SYSTEM_ADDR="127.0.0.1:$port" \
        exec "$OLDPWD/$target/debug/weir" start --database "sqlite://$work/weir.db"
) >"$work/weir.log" 2>&1 &
pid=$!

base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
    curl -fsS "$base/healthz" >/dev/null 2>&1 && break
    sleep 0.2
done
curl -fsS "$base/healthz" >/dev/null || { cat "$work/weir.log" >&2; exit 1; }

status=0
"$venv/bin/schemathesis" run "$base/v1/openapi.json" \
    --url "$base" \
    --header "Authorization: Bearer $token" \
    --checks all \
    --phases examples,coverage,fuzzing,stateful \
    --max-examples "$examples" \
    --seed "${WEIR_ST_SEED:-1}" \
    --no-color || status=$?

# The API must still answer after everything it was sent.
curl -fsS -H "Authorization: Bearer $token" "$base/v1/specs?namespace=system" >/dev/null \
    || { echo "schemathesis: the system API stopped answering" >&2; status=1; }
[[ $status -eq 0 ]] || tail -n 50 "$work/weir.log" >&2
exit "$status"
