#!/usr/bin/env bash
# Build the Claude Desktop bundle: manifests/mcpb/manifest.json plus the package's source, packed by
# the pinned @anthropic-ai/mcpb (manifests/package.json). Server type "uv": the bundle carries
# pyproject.toml and chutes_mcp/, and Claude Desktop installs the dependencies with uv at first start.
#
#   bash manifests/mcpb/build.sh [OUTPUT.mcpb]     (default: dist/chutes-mcp-<version>.mcpb)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
manifests="$(dirname "$here")"
repo="$(dirname "$manifests")"
version="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$repo/chutes_mcp/__init__.py")"
out="${1:-$repo/dist/chutes-mcp-$version.mcpb}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac

[ -x "$manifests/node_modules/.bin/mcpb" ] || npm ci --prefix "$manifests" --no-audit --no-fund --silent

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cp "$here/manifest.json" "$repo/pyproject.toml" "$repo/README.md" "$stage/"
# The package only: no caches, no compiled files.
(cd "$repo" && find chutes_mcp -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 |
    xargs -0 -I{} cp --parents {} "$stage/")
mkdir -p "$(dirname "$out")"
"$manifests/node_modules/.bin/mcpb" pack "$stage" "$out"
