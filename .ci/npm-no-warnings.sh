#!/usr/bin/env bash
# Runs an npm command (e.g. `npm ci ...`), shows its output, and fails if it failed or printed a warning: the
# supported Node versions install with no warning at all (engines, unknown config keys, install scripts not covered
# by allowScripts). `deprecated` notices are shown but do not fail: they come from the registry at install time,
# about packages the lock file already pins, and change without any change here.
# Exit: the command's own status if it failed; 86 if it succeeded but warned (callers go on, then fail); 0.
set -uo pipefail
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [ "$status" != 0 ]; then exit "$status"; fi
warnings=$(grep -i '^npm warn' "$log" | grep -vi '^npm warn deprecated' || true)
if [ -n "$warnings" ]; then
  echo "npm printed warnings on $(node --version) (none are allowed):"
  echo "$warnings"
  exit 86
fi
