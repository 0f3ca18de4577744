#!/usr/bin/env bash
# ansible-test sanity, offline, against a real copy of the collection under
# ansible_collections/pynomaly/incident_response (ansible-test refuses a symlinked one).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.sanity/ansible_collections/pynomaly/incident_response"
rm -rf "$dest"
mkdir -p "$dest"
# Copy exactly what git would ship (tracked + untracked-not-ignored), nothing else.
(cd "$root" && git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
  tar --null -T - -cf -) | tar -xf - -C "$dest"
cd "$dest"
"$root/.venv/bin/ansible-test" sanity --python 3.11 --local --color no "$@"
