#!/usr/bin/env bash
# The one demo command: installs system libraries if needed, builds keywatch, and reads the bundled
# samples (two nginx nodes with a custom log_format, one Kong node; rotated .gz plus live files).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
swift build -c release --product keywatch
state="${KEYWATCH_STATE:-baselines}"
echo "== three events with a key, as JSON lines (a key appears only as key_id and a masked key_hint) =="
.build/release/keywatch parse --state "$state" --log-format @samples/nginx.log_format \
    samples/nginx/gw1/access.log-20261102.gz 2>/dev/null | grep -m 3 '"key_id":"k_' || true
echo
echo "== every sample file: summary =="
.build/release/keywatch parse --output none --state "$state" --log-format @samples/nginx.log_format \
    samples/nginx/gw1 samples/nginx/gw2 samples/kong/kong1
