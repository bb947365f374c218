#!/usr/bin/env bash
# Builds keywatch the way we ship and benchmark it (release, Swift runtime linked statically, which
# saves a few ms of start-up per run) and runs keywatch-bench with any arguments given, e.g.
#   bash scripts/bench.sh --runs 3
#   bash scripts/bench.sh --analysis-only --runs 5
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
swift build -c release --static-swift-stdlib --product keywatch
swift build -c release --static-swift-stdlib --product keywatch-bench
exec .build/release/keywatch-bench "$@"
