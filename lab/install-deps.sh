#!/usr/bin/env bash
# Installs the Debian packages the lab runs (real services, never mocks). Idempotent and quiet
# when everything is there already.
set -euo pipefail
need=()
command -v redis-server >/dev/null || need+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v psql >/dev/null || need+=(postgresql-client)
command -v runuser >/dev/null || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "lab needs Debian packages: ${need[*]} (run as root or install them)" >&2
    exit 1
  fi
  echo "installing ${need[*]} ..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Debian's postgresql package starts a cluster of its own on 5432; the lab runs its own.
# Optional test dependency: headless Chromium renders the post-mortem HTML in the timeline tests
# (they skip that check without it). Opt in with LAB_WITH_CHROMIUM=1.
if [ "${LAB_WITH_CHROMIUM:-0}" = 1 ] && ! command -v chromium >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "installing chromium (optional) ..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
