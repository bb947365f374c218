#!/usr/bin/env bash
# Installs the system libraries keywatch links against (zlib, libmaxminddb, ISA-L, SQLite; libcurl's
# header, for webhooks, which load libcurl only when the first one is posted) and the tools its
# benchmark compares with. Safe to run again: it only calls apt-get when something is missing.
set -euo pipefail
packages=(zlib1g-dev libmaxminddb-dev libisal-dev libsqlite3-dev libcurl4-openssl-dev pkg-config pigz mawk)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "bootstrap: installing ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
