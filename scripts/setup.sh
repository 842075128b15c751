#!/usr/bin/env bash
# Install what Pingan Grid needs on a Debian/Ubuntu machine: system packages (only those
# missing), uv, and the locked Python environment. Safe to run again: it does nothing twice.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "setup: not root and no sudo; install the packages listed in scripts/setup.sh by hand" >&2
  fi
fi

missing=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# The newest PostgreSQL whose server programs are installed (a client-only directory does not count).
pg_major() {
  for dir in $(ls -d /usr/lib/postgresql/*/ 2>/dev/null | sort -t/ -k5 -n -r); do
    if [ -x "${dir}bin/initdb" ]; then basename "$dir"; return; fi
  done
}

# PostgreSQL server and PostGIS, from the distribution.
if [ -z "$(pg_major)" ]; then
  missing+=(postgresql)
fi
# CJK fonts for maps and PDFs (the simplified-Chinese face "Noto Sans CJK SC").
have fonts-noto-cjk || missing+=(fonts-noto-cjk)
# Headless Chromium for the browser tests (tests/e2e), from the distribution: never
# `playwright install`. Debian's package installs /usr/bin/chromium.
[ -x /usr/bin/chromium ] || missing+=(chromium)
# Python 3.11+ with pip (to install uv) and CA certificates for the package registries.
command -v python3 >/dev/null 2>&1 || missing+=(python3)
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
have ca-certificates || missing+=(ca-certificates)

apt_updated=0
apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: apt-get not found; install these packages by hand: $*" >&2
    return 1
  fi
  if [ "$apt_updated" -eq 0 ]; then $SUDO apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@"
}

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt_install "${missing[@]}"
fi
major="$(pg_major)"
if [ ! -f "/usr/share/postgresql/${major}/extension/postgis.control" ]; then
  echo "setup: installing postgresql-${major}-postgis-3"
  apt_install "postgresql-${major}-postgis-3"
fi
# The distribution's own cluster is not used; pingan runs its own (see gis/cluster.py).

if ! command -v uv >/dev/null 2>&1; then
  echo "setup: installing uv"
  python3 -m pip install --quiet uv || python3 -m pip install --quiet --break-system-packages uv
fi
# uv must use a Python from the machine: downloading one would need more than the registries.
export UV_PYTHON_DOWNLOADS=never
uv sync --frozen --quiet
echo "setup: ready (PostgreSQL ${major}, $(uv run python --version))"
