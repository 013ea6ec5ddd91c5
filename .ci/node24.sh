#!/usr/bin/env bash
# The whole test suite on Node 24 LTS, as CI runs it (and as anyone can: `bash .ci/node24.sh`).
# - Node 24 comes from the npm registry's `node` package, in a temporary folder; nothing is downloaded from elsewhere.
# - The suite runs in a clone of this checkout's committed HEAD placed beside it, so ../shared resolves, with its own
#   node_modules: better-sqlite3 is compiled there against Node 24's headers (npm_config_nodedir), the sherpa-onnx
#   and onnxruntime addons are N-API and load on either Node.
# - The clone is not under the folder holding Node 24: npm puts every ancestor's node_modules/.bin on PATH.
# Exits with the suite's status; the suite's last line is "N passed, N failed". Extra arguments go to `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
clone="$(cd .. && pwd)/.ci-node24-$$"
trap 'rm -rf "$work" "$clone"' EXIT

(cd "$work" && echo '{"private":true,"allowScripts":{"node":true}}' > package.json \
  && npm install --no-save --no-audit --no-fund node@24 >/dev/null) || { echo "node 24: npm install node@24 failed"; exit 1; }
node24=""
for dir in "$work"/node_modules/node/node_modules/node-*; do
  if [ -x "$dir/bin/node" ]; then node24="$dir"; fi
done
[ -n "$node24" ] || { echo "node 24: the node package installed no binary for $(uname -sm)"; exit 1; }

git clone -q . "$clone"
cd "$clone"
export PATH="$node24/bin:$PATH" npm_config_nodedir="$node24"
echo "suite on $(node --version) ($(command -v node))"
install_warned=0
bash .ci/npm-no-warnings.sh npm ci --prefer-offline --no-audit --no-fund || { rc=$?; [ "$rc" = 86 ] || exit "$rc"; install_warned=1; }
# A hang guard only: the suite takes 11-15 minutes on a 2-core machine (plus 1-2 for the multi-node test at 400 contacts).
suite=0
timeout 2700 npm test -- "$@" || suite=$?
if [ "$install_warned" = 1 ]; then echo "node 24: npm ci printed warnings (see above)"; [ "$suite" != 0 ] || suite=1; fi
exit "$suite"
