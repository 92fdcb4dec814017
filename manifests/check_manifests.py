"""Checks of manifests/ that need the project's own facts: versions, settings, CLI flags, tool names.

Run by manifests/check.sh with its tool venv (jsonschema with format checkers, PyYAML); reads the
package's source with `ast` and never imports it, so it needs no project install. Prints one line per
check and exits 1 if any failed. The generic validators (mcpb, hadolint, kubernetes-validate,
shellcheck) are run by check.sh itself.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import yaml

MANIFESTS = Path(__file__).resolve().parent
REPO = MANIFESTS.parent
PACKAGE = REPO / "chutes_mcp"
SERVER_JSON = MANIFESTS / "server.json"
SERVER_SCHEMA = MANIFESTS / "schemas" / "server.schema.json"
MCPB = MANIFESTS / "mcpb" / "manifest.json"
CLIENTS = MANIFESTS / "clients"
DOCKERFILE = MANIFESTS / "docker" / "Dockerfile"
K8S = MANIFESTS / "k8s"

# Settings that hold credentials: every manifest that names them must treat them as secrets.
SECRET_ENV = ("CHUTES_API_KEY", "CHUTES_OAUTH_TOKEN", "CHUTES_CLIENT_SECRET")
# Secrets of a hosted deployment only (no client starts a server with them): by reference in k8s/.
HOSTING_SECRET_ENV = ("CHUTES_MCP_REDIS_URL", "CHUTES_MCP_REDIS_KEY_SECRET")
TENANT_HEADER = "X-Chutes-Api-Key"
# Anything shaped like a real credential must never sit in a manifest (placeholders are fine).
CREDENTIAL_RE = re.compile(r"\b(cpk_[0-9a-f]{8,}|cak_[A-Za-z0-9]{8,}|csc_[A-Za-z0-9]{8,})")

failures: list[str] = []


def check(label: str) -> Callable[[Callable[[], Iterator[str]]], Callable[[], None]]:
    """A check yields problem messages; none means it passed."""

    def wrap(fn: Callable[[], Iterator[str]]) -> Callable[[], None]:
        def run() -> None:
            try:
                problems = list(fn())
            except Exception as exc:  # a crash is a failure of that check, not of the run
                problems = [f"{type(exc).__name__}: {exc}"]
            if problems:
                failures.append(label)
                print(f"FAIL {label}")
                for problem in problems:
                    print(f"       - {problem}")
            else:
                print(f"ok   {label}")

        CHECKS.append(run)
        return run

    return wrap


CHECKS: list[Callable[[], None]] = []


# ---- facts read from the package's source ----


def package_version() -> str:
    match = re.search(r'^__version__ = "([^"]+)"$', (PACKAGE / "__init__.py").read_text(), re.M)
    if not match:
        raise RuntimeError("no __version__ in chutes_mcp/__init__.py")
    return match.group(1)


def _literal(node: ast.expr | None) -> Any:
    try:
        return ast.literal_eval(node) if node is not None else None
    except ValueError:
        return None


def settings_fields() -> dict[str, tuple[str, Any]]:
    """Settings field name -> (annotation source, default) from chutes_mcp/config.py."""
    tree = ast.parse((PACKAGE / "config.py").read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Settings")
    fields: dict[str, tuple[str, Any]] = {}
    for node in cls.body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        value: Any = _literal(node.value)
        if isinstance(node.value, ast.Call):  # Field(default=...)
            value = next((_literal(k.value) for k in node.value.keywords if k.arg == "default"), None)
        fields[node.target.id] = (ast.unparse(node.annotation), value)
    return fields


def settings_env() -> dict[str, tuple[str, Any]]:
    """Environment variable -> (annotation, default), named as config.env_name does."""
    return {
        ("CHUTES_MCP_CONFIG" if name == "config_file" else "CHUTES_" + name.upper()): info
        for name, info in settings_fields().items()
    }


def module_constant(path: Path, name: str) -> Any:
    """A constant assigned at the top of one of the package's modules."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in node.targets
        ):
            return _literal(node.value)
    raise RuntimeError(f"no {name} in {path.relative_to(REPO)}")


def package_strings() -> set[str]:
    """Every string constant in the package's source (flags, routes, header and variable names)."""
    found: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.add(node.value)
    return found


def cli_flags() -> set[str]:
    """Every option string given to add_argument anywhere in the package."""
    flags: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "add_argument"
            ):
                flags.update(
                    a.value
                    for a in node.args
                    if isinstance(a, ast.Constant) and str(a.value).startswith("--")
                )
    return flags


def tool_names() -> set[str]:
    """`ToolSpec(name=...)` in chutes_mcp/server/tools: the tools the server lists."""
    names: set[str] = set()
    for path in (PACKAGE / "server" / "tools").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ToolSpec":
                names.update(
                    k.value.value
                    for k in node.keywords
                    if k.arg == "name" and isinstance(k.value, ast.Constant)
                )
    return names


def load_json(path: Path) -> Any:
    return json.loads(path.read_text())


def same_value(declared: str, actual: Any) -> bool:
    if isinstance(actual, bool):
        return declared.lower() == str(actual).lower()
    if isinstance(actual, int | float):
        try:
            return float(declared) == float(actual)
        except ValueError:
            return False
    return declared == str(actual)


def no_credentials(path: Path) -> Iterator[str]:
    for match in CREDENTIAL_RE.finditer(path.read_text()):
        yield f"{path.relative_to(REPO)} holds something shaped like a real credential: {match.group(0)[:8]}..."


# ---- server.json (MCP Registry) ----


@check("server.json: valid against the Registry schema 2025-12-11 (with uri/uri-template formats)")
def _server_schema() -> Iterator[str]:
    schema = load_json(SERVER_SCHEMA)
    document = load_json(SERVER_JSON)
    if document.get("$schema") != schema["x-transcribed-from"]:
        yield f"$schema is {document.get('$schema')!r}, the transcribed schema is {schema['x-transcribed-from']!r}"
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path)):
        yield f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
    # The format checkers must really be active, or "uri" constraints would pass silently.
    checker = jsonschema.Draft7Validator.FORMAT_CHECKER
    for fmt in ("uri", "uri-template"):
        if fmt not in checker.checkers:
            yield f"jsonschema cannot check format {fmt!r}: install jsonschema[format-nongpl]"


@check("server.json: official Registry rules (namespace, PyPI base URL, no registry-managed fields)")
def _server_policy() -> Iterator[str]:
    document = load_json(SERVER_JSON)
    namespace, _, _ = document["name"].partition("/")
    repo_url = document.get("repository", {}).get("url", "")
    if namespace.startswith("io.github."):
        owner = namespace.removeprefix("io.github.")
        if not repo_url.lower().startswith(f"https://github.com/{owner.lower()}/"):
            yield f"name namespace {namespace} does not match repository {repo_url}"
    for key in ("status",):
        if key in document:
            yield f"{key!r} is managed by the registry; remove it"
    if set(document.get("_meta", {})) - {"io.modelcontextprotocol.registry/publisher-provided"}:
        yield "_meta keys other than io.modelcontextprotocol.registry/publisher-provided are dropped"
    for package in document.get("packages", []):
        if (
            package["registryType"] == "pypi"
            and package.get("registryBaseUrl", "https://pypi.org") != "https://pypi.org"
        ):
            yield "PyPI packages must use https://pypi.org"
    for remote in document.get("remotes", []):
        if not remote["url"].startswith("https://"):
            yield f"remote {remote['url']} is not https"
        declared = set(remote.get("variables", {}))
        used = set(re.findall(r"\{([^}]+)\}", remote["url"]))
        if used - declared:
            yield f"remote URL variables {sorted(used - declared)} are not declared in variables"


@check("server.json: versions equal chutes_mcp.__version__; the PyPI package runs `uvx chutes-mcp serve`")
def _server_version() -> Iterator[str]:
    version = package_version()
    document = load_json(SERVER_JSON)
    if document["version"] != version:
        yield f"version {document['version']} != chutes_mcp.__version__ {version}"
    pypi = [p for p in document.get("packages", []) if p["registryType"] == "pypi"]
    if len(pypi) != 1:
        yield "expected exactly one pypi package"
        return
    package = pypi[0]
    if package.get("version") != version:
        yield f"pypi package version {package.get('version')} != {version}"
    if package.get("identifier") != "chutes-mcp":
        yield f"pypi identifier {package.get('identifier')!r} != 'chutes-mcp'"
    if package.get("runtimeHint") != "uvx" or package.get("transport", {}).get("type") != "stdio":
        yield "the pypi package must have runtimeHint uvx and transport stdio"
    arguments = [a.get("value") for a in package.get("packageArguments", [])]
    if arguments[:1] != ["serve"]:
        yield f"packageArguments must start with the `serve` command, got {arguments}"


@check(
    "server.json: environment variables are real settings, secrets marked isSecret, defaults match config.py"
)
def _server_env() -> Iterator[str]:
    env = settings_env()
    strings = package_strings()
    document = load_json(SERVER_JSON)
    declared = {v["name"]: v for p in document.get("packages", []) for v in p.get("environmentVariables", [])}
    for name in SECRET_ENV:
        if name not in declared:
            yield f"{name} is not declared"
    for name, var in declared.items():
        if name not in env and name not in strings:
            yield f"{name} is neither a Settings field nor read anywhere in chutes_mcp"
            continue
        annotation, default = env.get(name, ("", None))
        secret = "SecretStr" in annotation or name in SECRET_ENV
        if secret and not var.get("isSecret"):
            yield f"{name} holds a secret but is not isSecret"
        if secret and ("default" in var or "value" in var):
            yield f"{name} is a secret and must not carry a default or value"
        if "default" in var and name in env and not same_value(var["default"], default):
            yield f"{name} default {var['default']!r} != config.py default {default!r}"
    yield from no_credentials(SERVER_JSON)


@check("server.json: the streamable-http remote sends Authorization and X-Chutes-Api-Key as secrets")
def _server_remote() -> Iterator[str]:
    remotes = [r for r in load_json(SERVER_JSON).get("remotes", []) if r["type"] == "streamable-http"]
    if not remotes:
        yield "no streamable-http remote"
    for remote in remotes:
        headers = {h["name"].lower(): h for h in remote.get("headers", [])}
        for name in ("authorization", TENANT_HEADER.lower()):
            if name not in headers:
                yield f"remote {remote['url']} lacks header {name}"
            elif not headers[name].get("isSecret"):
                yield f"header {name} is not isSecret"
    if TENANT_HEADER.lower() not in {s.lower() for s in package_strings()}:
        yield f"the server source never mentions the {TENANT_HEADER} header"


@check("README.md carries the Registry ownership marker `mcp-name: <server.json name>`")
def _readme_marker() -> Iterator[str]:
    name = load_json(SERVER_JSON)["name"]
    if f"mcp-name: {name}" not in (REPO / "README.md").read_text():
        yield f"README.md lacks `mcp-name: {name}` (PyPI ownership check of the MCP Registry)"


# ---- mcpb bundle ----


@check("mcpb/manifest.json: version, tools, sensitive API key, settings it sets")
def _mcpb() -> Iterator[str]:
    manifest = load_json(MCPB)
    version = package_version()
    if manifest["version"] != version:
        yield f"version {manifest['version']} != chutes_mcp.__version__ {version}"
    listed = {t["name"] for t in manifest.get("tools", [])}
    served = tool_names()
    if listed != served:
        yield f"tools listed {sorted(listed)} != tools the server defines {sorted(served)}"
    user_config = manifest.get("user_config", {})
    env = manifest["server"].get("mcp_config", {}).get("env", {})
    known = settings_env()
    for name, value in env.items():
        if name not in known:
            yield f"env {name} is not a setting"
        for ref in re.findall(r"\$\{user_config\.([^}]+)\}", value):
            if ref not in user_config:
                yield f"env {name} uses undefined user_config.{ref}"
            elif name in SECRET_ENV and not user_config[ref].get("sensitive"):
                yield f"user_config.{ref} feeds {name} but is not sensitive"
    if "CHUTES_API_KEY" not in env:
        yield "the bundle does not pass CHUTES_API_KEY"
    entry = manifest["server"]["entry_point"]
    if not (REPO / entry).is_file():
        yield f"entry_point {entry} is not a file of the package"
    yield from no_credentials(MCPB)


# ---- client configs ----


def _json_clients() -> Iterator[Path]:
    yield from sorted(CLIENTS.glob("*.json"))


@check("clients/: valid JSON, each launches the installed `chutes-mcp serve`, key from the user not the file")
def _clients() -> Iterator[str]:
    expected = {"claude_desktop_config.json", "vscode-mcp.json", "cursor-mcp.json", "claude-code.sh"}
    present = {p.name for p in CLIENTS.iterdir()}
    if expected - present:
        yield f"missing {sorted(expected - present)}"
    for path in _json_clients():
        try:
            config = load_json(path)
        except json.JSONDecodeError as exc:
            yield f"{path.name}: not JSON ({exc})"
            continue
        servers = config.get("servers" if path.name == "vscode-mcp.json" else "mcpServers")
        if not isinstance(servers, dict) or not servers:
            yield f"{path.name}: no servers under the client's top-level key"
            continue
        stdio = [s for s in servers.values() if "command" in s]
        # The command the README's install puts on PATH: the package is not on PyPI, so `uvx` finds nothing.
        if not any(s["command"] == "chutes-mcp" and s.get("args", [])[:1] == ["serve"] for s in stdio):
            yield f"{path.name}: no stdio entry running `chutes-mcp serve`"
        for server in servers.values():
            key = server.get("env", {}).get("CHUTES_API_KEY")
            if key not in (None, "") and "${" not in key:
                yield f"{path.name}: CHUTES_API_KEY is a literal, not a prompt or a variable"
        yield from no_credentials(path)
    vscode = load_json(CLIENTS / "vscode-mcp.json")
    inputs = {i["id"]: i for i in vscode.get("inputs", [])}
    for server in vscode["servers"].values():
        if server.get("type") not in ("stdio", "http", "sse"):
            yield f"vscode-mcp.json: server type {server.get('type')!r}"
        refs = re.findall(r"\$\{input:([^}]+)\}", json.dumps(server))
        for ref in refs:
            if ref not in inputs:
                yield f"vscode-mcp.json: ${{input:{ref}}} has no input"
    for name, value in vscode["servers"]["chutes"].get("env", {}).items():
        for ref in re.findall(r"\$\{input:([^}]+)\}", value):
            if name in SECRET_ENV and not inputs[ref].get("password"):
                yield f"vscode-mcp.json: input {ref} feeds {name} without password: true"
    script = (CLIENTS / "claude-code.sh").read_text()
    if "command -v chutes-mcp" not in script or "uvx" in script or "--transport http" not in script:
        yield "claude-code.sh: needs a stdio (the installed `chutes-mcp serve`) and an http variant"
    yield from no_credentials(CLIENTS / "claude-code.sh")


# ---- Dockerfile and Kubernetes: what they rely on must exist in the package ----


def _entrypoint_args() -> list[str]:
    text = DOCKERFILE.read_text()
    args: list[str] = []
    for instruction in ("ENTRYPOINT", "CMD"):
        match = re.search(rf"^{instruction} (\[.*\])$", text, re.M)
        if not match:
            raise RuntimeError(f"no exec-form {instruction} in the Dockerfile")
        args += json.loads(match.group(1))
    return args


def _k8s_docs() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                yield path, doc


@check("docker/Dockerfile: non-root USER, HEALTHCHECK on /healthz, http ENTRYPOINT with flags the CLI has")
def _dockerfile() -> Iterator[str]:
    text = DOCKERFILE.read_text()
    user = re.findall(r"^USER\s+(\S+)", text, re.M)
    if not user or user[-1].split(":")[0] in ("root", "0"):
        yield "the final USER must be a non-root user"
    healthcheck = re.search(r"^HEALTHCHECK (?:.*\\\n)*.*$", text, re.M)
    if not healthcheck or "/healthz" not in healthcheck.group(0):
        yield "no HEALTHCHECK on /healthz"
    elif re.search(r"\b(curl|wget)\b", healthcheck.group(0)):
        yield "the HEALTHCHECK must not need curl or wget (a slim image has neither)"
    args = _entrypoint_args()
    if args[:6] != ["chutes-mcp", "serve", "--transport", "http", "--host", "0.0.0.0"]:
        yield f"ENTRYPOINT is {args[:6]}"
    if not re.search(r"^EXPOSE 8000\b", text, re.M):
        yield "EXPOSE 8000 missing"
    flags = cli_flags()
    for flag in (a for a in args if a.startswith("--")):
        if flag not in flags:
            yield f"`chutes-mcp serve` has no {flag} option (yet)"
    ignore = (REPO / ".dockerignore").read_text()
    if not ignore.lstrip().startswith("#") or "\n*\n" not in f"\n{ignore}":
        yield ".dockerignore should exclude everything (*) and allow only what the image needs"


@check(
    "k8s/: kinds present, image tag = version, probes /healthz and /readyz, secrets only by reference, "
    "Redis shared and reachable, a grace period that holds the server's drain"
)
def _k8s() -> Iterator[str]:
    docs = list(_k8s_docs())
    # The server's own objects are named chutes-mcp; redis.yaml adds its own of the same kinds.
    kinds = {
        doc["kind"]: doc
        for _, doc in docs
        if doc["kind"] not in ("Deployment", "NetworkPolicy") or doc["metadata"]["name"] == "chutes-mcp"
    }
    for kind in (
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "Secret",
        "Kustomization",
    ):
        if kind not in kinds:
            yield f"no {kind}"
    deployment = kinds["Deployment"]
    spec = deployment["spec"]["template"]["spec"]
    container = spec["containers"][0]
    version = package_version()
    if not container["image"].endswith(f":{version}"):
        yield f"image {container['image']} is not tagged {version}"
    if (
        deployment["spec"].get("replicas", 1) < 2
        or kinds["HorizontalPodAutoscaler"]["spec"]["minReplicas"] < 2
    ):
        yield "fewer than 2 replicas"
    if container["livenessProbe"]["httpGet"]["path"] != "/healthz":
        yield "liveness probe is not /healthz"
    if container["readinessProbe"]["httpGet"]["path"] != "/readyz":
        yield "readiness probe is not /readyz"
    strings = package_strings()
    for route in ("/healthz", "/readyz"):
        if route not in strings:
            yield f"the server source has no {route} route (yet)"
    security = container.get("securityContext", {})
    if not (spec["securityContext"].get("runAsNonRoot") and security.get("readOnlyRootFilesystem")):
        yield "pod must run as non-root with a read-only root filesystem"
    if not all(k in container.get("resources", {}) for k in ("requests", "limits")):
        yield "container needs resource requests and limits"
    env = {e["name"]: e for e in container.get("env", [])}
    if "secretKeyRef" not in env.get("CHUTES_MCP_AUTH_TOKENS", {}).get("valueFrom", {}):
        yield "CHUTES_MCP_AUTH_TOKENS must come from a secretKeyRef"
    for name in SECRET_ENV + HOSTING_SECRET_ENV:
        if name in env and "value" in env[name]:
            yield f"{name} is set inline; use a secretKeyRef"
    if ("CHUTES_MCP_REDIS_URL" in env) != ("CHUTES_MCP_REDIS_KEY_SECRET" in env):
        yield "CHUTES_MCP_REDIS_URL and CHUTES_MCP_REDIS_KEY_SECRET go together"
    flags = cli_flags()
    for flag in (a for a in container.get("args", []) if a.startswith("--")):
        if flag not in flags:
            yield f"`chutes-mcp serve` has no {flag} option (yet)"
    yield from _stop_fits_the_grace_period(spec, container, env)
    policy = kinds["NetworkPolicy"]["spec"]
    egress_ports = {
        (p.get("protocol", "TCP"), p["port"]) for rule in policy["egress"] for p in rule.get("ports", [])
    }
    allowed = {("TCP", 443), ("UDP", 53), ("TCP", 53)}
    if "CHUTES_MCP_REDIS_URL" in env:
        allowed.add(("TCP", 6379))
    if egress_ports != allowed:
        yield f"egress must allow only {sorted(allowed)} (HTTPS, DNS, Redis), got {sorted(egress_ports)}"
    redis_pods = [
        doc
        for _, doc in docs
        if doc["kind"] == "Deployment" and doc["metadata"]["name"] == "chutes-mcp-redis"
    ]
    if "CHUTES_MCP_REDIS_URL" in env and redis_pods:
        redis = redis_pods[0]["spec"]["template"]["spec"]["containers"][0]
        if "--requirepass" not in redis.get("args", []):
            yield "the bundled Redis must require a password"
    listed = set(kinds["Kustomization"]["resources"])
    present = {p.name for p, _ in docs} - {"kustomization.yaml", "secret.example.yaml"}
    if listed != present:
        yield f"kustomization resources {sorted(listed)} != manifests {sorted(present)}"
    for path in K8S.glob("*.yaml"):
        yield from no_credentials(path)


def _stop_fits_the_grace_period(
    spec: dict[str, Any], container: dict[str, Any], env: dict[str, Any]
) -> Iterator[str]:
    """Kubernetes kills a pod `terminationGracePeriodSeconds` after it starts stopping it (the preStop
    hook included): the server's drain must end before that, or its calls are cut off after all."""
    shutdown = PACKAGE / "server" / "shutdown.py"
    settings = settings_env()
    grace_s = float(
        env.get("CHUTES_MCP_SHUTDOWN_GRACE_S", {}).get("value", settings["CHUTES_MCP_SHUTDOWN_GRACE_S"][1])
    )
    pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    needed = (
        pre_stop + grace_s + module_constant(shutdown, "ENDING_S") + module_constant(shutdown, "CLOSING_S")
    )
    allowed = spec.get("terminationGracePeriodSeconds", 30)
    if allowed <= needed:
        yield (
            f"terminationGracePeriodSeconds {allowed} leaves no room for the stop: preStop {pre_stop} s + "
            f"shutdown grace {grace_s:g} s + ending and closing = {needed:g} s"
        )
    if "httpGet" not in container.get("readinessProbe", {}):
        yield "the readiness probe must ask /readyz, which answers 503 while the server drains"


def main() -> int:
    print(f"manifests/ checks (chutes_mcp {package_version()}):")
    for run in CHECKS:
        run()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
