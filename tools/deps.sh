#!/bin/bash
# Installs the Debian packages named in $DEPS that are missing; a no-op when all are present.
set -euo pipefail
missing=()
for p in $DEPS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
n=$(wc -w <<<"$DEPS")
if [ ${#missing[@]} -eq 0 ]; then
    echo "deps: all $n packages present"
    exit 0
fi
echo "deps: missing ${#missing[@]} of $n packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: must run as root to install them (try: sudo make deps)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -o DPkg::Lock::Timeout=600
apt-get install -y -o DPkg::Lock::Timeout=600 "${missing[@]}"
echo "deps: installed ${missing[*]}"
