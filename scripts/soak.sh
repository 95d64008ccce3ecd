#!/usr/bin/env bash
# Runs the model-based test of live changes (engine/tests/model.rs) on
# PostgreSQL and SQLite for as long as asked, e.g. `scripts/soak.sh 10m`
# (s, m or h; default 10m), each backend for that long. A seed replays a
# failure: WEIR_MODEL_SEED=… scripts/soak.sh 1m
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10m}
case "$duration" in
  *h) seconds=$(( ${duration%h} * 3600 )) ;;
  *m) seconds=$(( ${duration%m} * 60 )) ;;
  *s) seconds=${duration%s} ;;
  *) seconds=$duration ;;
esac
scripts/ensure-postgres.sh
WEIR_MODEL_SECONDS=$seconds cargo test -p weir-engine --test model -- --nocapture --test-threads 1 2>&1 \
  | grep -E '^model:|diverged|replay|^test |test result'
