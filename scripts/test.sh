#!/usr/bin/env bash
# The one test command: installs system libraries if needed, then runs every test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
swift build --build-tests
swift test --skip-build "$@"
