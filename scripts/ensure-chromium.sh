#!/usr/bin/env bash
# The portal's browser tests drive Debian's Chromium (Playwright's own browser download is
# not used); install it when it is missing.
set -euo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
as_root apt-get update -qq >&2
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
