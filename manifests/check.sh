#!/usr/bin/env bash
# Validate everything under manifests/: CI runs it after the tests, and anyone can run it from any
# directory. It installs its own pinned tools (PyPI: manifests/requirements.txt into manifests/.tools/;
# npm: manifests/package-lock.json into manifests/node_modules/), then checks:
#   1. server.json against the MCP Registry schema 2025-12-11 (manifests/schemas/), the official
#      Registry's rules, and the project's facts (version = chutes_mcp.__version__, env variables are
#      real settings with their real defaults, secrets marked isSecret, README's mcp-name marker);
#      the mcpb manifest's version and tool list, the client configs, and what the Dockerfile and the
#      Kubernetes manifests rely on (CLI flags, /healthz and /readyz) - manifests/check_manifests.py
#   2. `mcpb validate` on mcpb/manifest.json, and `mcpb pack` of the bundle into a temporary file
#   3. hadolint on docker/Dockerfile (Docker cannot build here; this is the Dockerfile's check)
#   4. kubernetes-validate --strict on k8s/*.yaml, offline, against Kubernetes 1.30 and 1.37
#   5. shellcheck on the shell scripts under manifests/
# Every check runs even after one fails; the exit status is 1 if any failed.
# Needs python3 (3.11+), node (18+) and npm. CHUTES_MCP_TOOLS_DIR moves the tool venv.
set -uo pipefail

manifests="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$manifests")"
tools="${CHUTES_MCP_TOOLS_DIR:-$manifests/.tools}"
venv="$tools/venv"
k8s_versions=(1.30.0 1.37.0) # the oldest Kubernetes we support (preStop sleep) and the newest bundled
started=$SECONDS

# ---- tools: installed once, again only when a pin changes ----
install_tools() {
    local want
    want="$(sha256sum "$manifests/requirements.txt" | cut -d' ' -f1)"
    if [ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$want" ]; then
        echo "== installing Python tools (manifests/requirements.txt) into ${venv#"$repo"/}"
        rm -rf "$venv"
        "${PYTHON:-python3}" -m venv "$venv" || return 1
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-cache-dir \
            --requirement "$manifests/requirements.txt" \
            2> >(grep -v '^WARNING: Location .* is ignored: it is neither a file nor a directory' >&2) || return 1
        echo "$want" >"$venv/.requirements.sha256"
    fi
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        echo "node and npm are needed (for @anthropic-ai/mcpb)" >&2
        return 1
    fi
    want="$(sha256sum "$manifests/package-lock.json" | cut -d' ' -f1)"
    if [ "$(cat "$manifests/node_modules/.lock.sha256" 2>/dev/null)" != "$want" ]; then
        echo "== installing Node tools (manifests/package-lock.json)"
        npm ci --prefix "$manifests" --no-audit --no-fund --loglevel=error || return 1
        echo "$want" >"$manifests/node_modules/.lock.sha256"
    fi
}
if ! install_tools; then
    echo "FAILED: could not install the checking tools" >&2
    exit 1
fi

failed=()
step() {
    local name="$1"
    shift
    echo "== $name"
    if "$@"; then
        echo "   ok"
    else
        echo "   FAILED"
        failed+=("$name")
    fi
}

mcpb="$manifests/node_modules/.bin/mcpb"
bundle_dir="$(mktemp -d)"
trap 'rm -rf "$bundle_dir"' EXIT

pack_bundle() {
    bash "$manifests/mcpb/build.sh" "$bundle_dir/chutes-mcp.mcpb" >"$bundle_dir/pack.log" 2>&1 || {
        cat "$bundle_dir/pack.log"
        return 1
    }
    grep -E '^(name|version|package size|total files):' "$bundle_dir/pack.log" | sed 's/^/   /'
}

k8s_files=()
for file in "$manifests"/k8s/*.yaml; do
    [ "$(basename "$file")" = kustomization.yaml ] || k8s_files+=("$file")
done
validate_k8s() {
    local version status=0
    for version in "${k8s_versions[@]}"; do
        if "$venv/bin/kubernetes-validate" --strict --quiet -k "$version" "${k8s_files[@]}"; then
            echo "   ${#k8s_files[@]} files valid against Kubernetes $version (strict)"
        else
            status=1
        fi
    done
    return "$status"
}

echo "== tools: $("$venv/bin/python" --version), jsonschema $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("jsonschema"))'), $("$venv/bin/hadolint" --version), kubernetes-validate $("$venv/bin/kubernetes-validate" --version), shellcheck $("$venv/bin/shellcheck" --version | sed -n 's/^version: //p'), mcpb $("$mcpb" --version), node $(node --version)"

step "project facts: server.json, mcpb, clients, Dockerfile and k8s cross-checks" \
    "$venv/bin/python" "$manifests/check_manifests.py"
step "mcpb validate mcpb/manifest.json" "$mcpb" validate "$manifests/mcpb/manifest.json"
step "mcpb pack (mcpb/build.sh into a temporary file)" pack_bundle
step "hadolint docker/Dockerfile" "$venv/bin/hadolint" --failure-threshold style "$manifests/docker/Dockerfile"
step "kubernetes-validate k8s/ (offline schemas)" validate_k8s
step "shellcheck manifests/**/*.sh" "$venv/bin/shellcheck" \
    "$manifests/check.sh" "$manifests/mcpb/build.sh" "$manifests/clients/claude-code.sh"

echo "== manifests/check.sh: $((SECONDS - started))s"
if [ "${#failed[@]}" -gt 0 ]; then
    printf 'FAILED: %s\n' "${failed[@]}"
    exit 1
fi
echo "all manifest checks passed"
