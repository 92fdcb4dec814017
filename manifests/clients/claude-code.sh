#!/usr/bin/env bash
# Add chutes-mcp to Claude Code. The secrets come from your environment, never from this file.
#
#   CHUTES_API_KEY=cpk_... bash claude-code.sh stdio
#       local server over stdio, started by Claude Code as `chutes-mcp serve` (the command that
#       `pipx install` or `uv tool install` puts on PATH; see the README's Install; its full path is
#       used, so Claude Code finds it whatever its own PATH)
#   CHUTES_API_KEY=cpk_... CHUTES_MCP_SERVER_TOKEN=... bash claude-code.sh http https://mcp.example.com/mcp
#       a hosted chutes-mcp (`serve --transport http --key-source request`): the server token
#       authenticates you to the deployment, X-Chutes-Api-Key carries your own Chutes key
#
# SCOPE=user|project|local (default user). Check with `claude mcp list`; remove with `claude mcp remove chutes`.
set -euo pipefail
scope="${SCOPE:-user}"
mode="${1:-stdio}"

case "$mode" in
stdio)
    server="$(command -v chutes-mcp)" || {
        echo "chutes-mcp is not on PATH: install it first (README, Install)" >&2
        exit 1
    }
    claude mcp add --scope "$scope" --transport stdio \
        --env "CHUTES_API_KEY=${CHUTES_API_KEY:?set CHUTES_API_KEY to your Chutes API key}" \
        --env "CHUTES_TEE_ONLY=${CHUTES_TEE_ONLY:-false}" \
        chutes -- "$server" serve
    ;;
http)
    url="${2:?give the deployment URL, e.g. https://mcp.example.com/mcp}"
    claude mcp add --scope "$scope" --transport http chutes-remote "$url" \
        --header "Authorization: Bearer ${CHUTES_MCP_SERVER_TOKEN:?set CHUTES_MCP_SERVER_TOKEN to the deployment token}" \
        --header "X-Chutes-Api-Key: ${CHUTES_API_KEY:?set CHUTES_API_KEY to your Chutes API key}"
    ;;
*)
    echo "usage: $0 stdio | http URL" >&2
    exit 2
    ;;
esac
