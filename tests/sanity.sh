#!/usr/bin/env bash
# ansible-test sanity, offline, against a real copy of the collection under
# ansible_collections/pynomaly/incident_response (ansible-test refuses a symlinked one).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# Outside the checkout: inside it, ansible-test would ask the outer git and skip ignored paths.
work="${SANITY_DIR:-${TMPDIR:-/tmp}/pynomaly-incident-response-sanity-$(printf %s "$root" | md5sum | cut -c1-12)}"
dest="$work/ansible_collections/pynomaly/incident_response"
rm -rf "$work"
mkdir -p "$dest"
# Sanity checks the collection as it ships: build it (galaxy.yml's build_ignore leaves out the
# lab, the tests and the benchmarks) and unpack the artefact.
build="$work/build"
mkdir -p "$build"
"$root/.venv/bin/ansible-galaxy" collection build --force --output-path "$build" "$root" >/dev/null
tar -xzf "$build"/pynomaly-incident_response-*.tar.gz -C "$dest"
rm -rf "$build"

# ansible-test bootstraps pip in each sanity venv with a get-pip script it downloads from a
# host we cannot reach; give it an offline one and the pip wheel it asks for.
pip_version=$("$root/.venv/bin/python" - <<'PY'
import re, ansible_test, pathlib
src = (pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py").read_text()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)
cache="$HOME/.ansible/test/cache"
mkdir -p "$cache"
if ! ls "$cache/pip-$pip_version-py3-none-any.whl" >/dev/null 2>&1; then
  "$root/.venv/bin/pip" download --quiet --no-deps --only-binary=:all: -d "$cache" "pip==$pip_version"
fi
cp "$root/tests/sanity_bootstrap/get_pip.py" "$cache/get_pip_${pip_version//./_}.py"
cd "$dest"
"$root/.venv/bin/ansible-test" sanity --python 3.11 --local --color no "$@"
