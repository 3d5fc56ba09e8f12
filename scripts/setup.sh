#!/usr/bin/env bash
# Installs everything csbot needs on a fresh Debian/Ubuntu machine: a CJK font for charts
# (Debian package fonts-wqy-microhei) and the Python package with its test extras.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! fc-list 2>/dev/null | grep -qi "wqy-microhei"; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq fonts-wqy-microhei fontconfig >/dev/null
  else
    echo "note: install the CJK font for charts: sudo apt-get install fonts-wqy-microhei" >&2
  fi
fi

python3 -m pip install --disable-pip-version-check -q -e '.[test]'
