#!/usr/bin/env bash
# The one demo command: installs system libraries if needed, builds keywatch, and analyses the bundled
# samples (two nginx nodes with a custom log_format, one Kong node; rotated .gz plus live files; an
# offline networks file for country and ASN). Each run learns into a fresh state directory, so the
# alerts are the same every time; set KEYWATCH_STATE to keep the state somewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
swift build -c release --product keywatch
bin=.build/release/keywatch
state="${KEYWATCH_STATE:-$(mktemp -d "${TMPDIR:-/tmp}/keywatch-demo.XXXXXX")}"
echo "== keywatch analyze: 14 days from 3 gateway nodes, medium and higher (state: $state) =="
"$bin" analyze samples/nginx samples/kong --networks samples/networks.csv \
    --log-format @samples/nginx.log_format --state "$state" --min-severity medium
echo
echo "== the busiest keys (keywatch keys) =="
"$bin" keys --state "$state" | sed -n 1,6p
echo
first=$("$bin" keys --state "$state" --output json | sed -n 1p | sed 's/.*"key_hint":"\([^"]*\)".*/\1/')
echo "== what keywatch learned about $first (keywatch baseline show) =="
"$bin" baseline show --state "$state" "$first"
