"""The one `Settings` object: environment variables over an optional TOML file over defaults.

Built once at start (`load_settings`) and passed down; nothing else reads the environment. An invalid
value stops the process with a message that names the variable and the accepted form.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

APP_NAME = "chutes-mcp"
CONFIG_FILE_ENV = "CHUTES_MCP_CONFIG"
ENV_PREFIX = "CHUTES_"
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})
_HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# Headers the client owns: letting config override them would bypass the credential rules.
_RESERVED_HEADERS = frozenset({"authorization", "host", "content-length", "x-api-key"})
# The pool to Chutes holds a thousand streams at once, with room for the calls around them.
DEFAULT_UPSTREAM_CONNECTIONS = 1024


class ConfigError(ValueError):
    """Settings could not be loaded; the message says which variable and what is accepted."""


@functools.lru_cache(maxsize=64)
def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def url_allows_credentials(url: str) -> bool:
    parts = urlsplit(url)
    return credentials_allowed(parts.scheme, parts.hostname)


def credentials_allowed(scheme: str, host: str | None) -> bool:
    """Credentials may travel only over HTTPS, or over plain HTTP to this machine (the simulator)."""
    return scheme == "https" or (scheme == "http" and is_loopback_host(host))


def check_public_url(value: str) -> str:
    """A server's public URL as clients use it: absolute, https (or http to this machine, for tests and
    demos), naming no credentials, query or fragment (RFC 9728 resource identifiers have none)."""
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http(s) URL")
    if not url_allows_credentials(value):
        raise ValueError("must be https (plain http only for a loopback host): clients send tokens to it")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("must have no user name, password, query or fragment")
    return value


def _split_list(value: Any) -> Any:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _base_url(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    value = value.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL")
    if not url_allows_credentials(value):
        raise ValueError("plain http is allowed only for loopback hosts (127.0.0.1, ::1, localhost)")
    return value


_ACCEPTED_FORM: dict[str, str] = {
    "api_key": "a Chutes API key, cpk_<32 hex>.<32 hex>.<32 letters or digits>",
    "oauth_token": "a Chutes OAuth access token (cak_…)",
    "api_base": "an https:// URL, or http:// to a loopback host, e.g. https://llm.chutes.ai/v1",
    "embed_base": "an https:// URL, or http:// to a loopback host, e.g. https://embed.chutes.ai/v1",
    "management_base": "an https:// URL, or http:// to a loopback host, e.g. https://api.chutes.ai",
    "timeout_s": "a number of seconds above 0, e.g. 300",
    "max_retries": "a whole number from 0 to 10, e.g. 3",
    "rate_limit_rpm": "a whole number of requests per minute above 0, e.g. 60",
    "rate_limit_burst": "a whole number of requests of 1 or more, e.g. 10",
    "max_upstream_connections": "a whole number of connections from 1 to 65536, e.g. 1024",
    "max_upstream_keepalive": "a whole number of connections from 0 to CHUTES_MAX_UPSTREAM_CONNECTIONS, e.g. 1024",
    "tee_only": "true or false",
    "extra_headers": 'a JSON object {"Name": "value"} or a comma list Name=value,Other=value',
    "client_id": "an OAuth client id (cid_…)",
    "client_secret": "an OAuth client secret (csc_…)",
    "oauth_redirect_uri": "an http:// loopback URL, e.g. http://127.0.0.1:1456/oauth-callback",
    "oauth_scopes": "space-separated scopes, e.g. openid profile chutes:invoke",
    "token_file": "a file path (not a directory)",
    "default_model": "a model id or alias",
    "allowed_models": "a comma list of model ids or aliases",
    "disabled_tools": "a comma list of tool names",
    "max_cost_per_call_usd": "a number of US dollars above 0, e.g. 0.05",
    "default_embedding_model": "an embedding model id",
    "cache_ttl_s": "a number of seconds, 0 or more, e.g. 300",
    "cache_dir": "a directory path (created when missing)",
    "mcp_auth_tokens": "a comma list of bearer tokens of 16 or more characters",
    "mcp_auth": "chutes (Sign in with Chutes), or empty for none",
    "mcp_public_url": "the https:// URL clients reach the MCP endpoint at, e.g. https://mcp.example.com/mcp",
    "mcp_shutdown_grace_s": "a number of seconds, 0 or more, e.g. 20",
    "mcp_redis_url": "a Redis URL, redis://[:password@]host:6379/0, rediss://… (TLS) or unix:///path/to.sock",
    "mcp_redis_key_secret": "a random secret of 32 or more characters, the same on every replica, e.g. "
    "from `openssl rand -hex 32`",
    "mcp_redis_timeout_s": "a number of seconds above 0 and at most 5, e.g. 0.5",
    "log_level": "DEBUG, INFO, WARNING or ERROR",
    "log_format": "console or json",
    "aliases": 'a JSON object {"alias": "model id"} (in TOML, a table alias = "model id")',
    "fallbacks": 'a JSON object {"model id": ["fallback id", ...]} (in TOML, a table)',
}


def env_name(field: str) -> str:
    return CONFIG_FILE_ENV if field == "config_file" else ENV_PREFIX + field.upper()


class _TomlFileSource(PydanticBaseSettingsSource):
    """The optional TOML file; keys are the setting names, with or without the CHUTES_ prefix, any case."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None) -> None:
        super().__init__(settings_cls)
        self._values = self._read(path) if path else {}

    def _read(self, path: Path) -> dict[str, Any]:
        import tomllib  # only with a settings file: ~2 ms of a start without one

        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{CONFIG_FILE_ENV}: cannot read {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{CONFIG_FILE_ENV}: {path} is not UTF-8 text; expected a TOML file") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{CONFIG_FILE_ENV}: {path} is not valid TOML: {exc}") from None
        values: dict[str, Any] = {}
        for key, value in raw.items():
            name = key.lower().removeprefix(ENV_PREFIX.lower())
            if name not in _ACCEPTED_FORM:
                known = ", ".join(sorted(_ACCEPTED_FORM))
                raise ConfigError(f"{path}: unknown key {key!r}; known keys: {known}")
            values[name] = value
        return values

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._values)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True, allow_inf_nan=False)

    config_file: Path | None = Field(
        default=None, validation_alias=AliasChoices("config_file", CONFIG_FILE_ENV)
    )

    api_key: SecretStr | None = None
    oauth_token: SecretStr | None = None
    api_base: str = "https://llm.chutes.ai/v1"
    embed_base: str = "https://embed.chutes.ai/v1"
    management_base: str = "https://api.chutes.ai"
    timeout_s: float = Field(default=300.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=10)
    rate_limit_rpm: int = Field(default=60, gt=0)
    rate_limit_burst: int | None = Field(default=None, ge=1)
    # The one HTTP pool to Chutes: streams at once, and connections kept open between calls. Every
    # connection not kept costs a later call a TLS handshake; idle ones close after a minute all the same.
    max_upstream_connections: int = Field(default=DEFAULT_UPSTREAM_CONNECTIONS, ge=1, le=65536)
    max_upstream_keepalive: int = Field(default=DEFAULT_UPSTREAM_CONNECTIONS, ge=0, le=65536)
    tee_only: bool = False
    extra_headers: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)

    client_id: str | None = None
    client_secret: SecretStr | None = None
    oauth_redirect_uri: str = "http://127.0.0.1:1456/oauth-callback"
    oauth_scopes: str = "openid profile chutes:invoke"
    token_file: Path | None = None

    default_model: str = "chutes-default"
    allowed_models: Annotated[list[str], NoDecode] = Field(default_factory=list)
    disabled_tools: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_cost_per_call_usd: float | None = Field(default=None, gt=0)
    default_embedding_model: str = "Qwen/Qwen3-Embedding-8B"
    cache_ttl_s: float = Field(default=300.0, ge=0)
    cache_dir: Path | None = None
    # Bearer tokens that HTTP clients must present to this server (several at once, for rotation).
    mcp_auth_tokens: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    # `chutes`: HTTP callers sign in with their Chutes account (OAuth), and each call runs on their own.
    mcp_auth: Literal["chutes"] | None = None
    # Where clients reach the MCP endpoint from outside (behind a proxy, say): what auth metadata names.
    mcp_public_url: str | None = None
    # How long a stopping server still waits for the answers it owes; under Kubernetes' 30 s of grace.
    mcp_shutdown_grace_s: float = Field(default=20.0, ge=0)
    # Replicas share rate limits, breakers and cancellations through Redis when this is set (the URL may
    # hold a password). Keys there are HMACs of credentials under the key secret, never credentials.
    mcp_redis_url: SecretStr | None = None
    mcp_redis_key_secret: SecretStr | None = Field(default=None, validate_default=True)
    # The longest any one Redis command may take before the process falls back to its own state.
    mcp_redis_timeout_s: float = Field(default=0.5, gt=0, le=5)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    log_format: Literal["console", "json"] = "console"

    aliases: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    fallbacks: Annotated[dict[str, list[str]], NoDecode] = Field(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        init_kwargs: dict[str, Any] = getattr(init_settings, "init_kwargs", {})
        path = init_kwargs.get("config_file") or os.environ.get(CONFIG_FILE_ENV)
        return init_settings, env_settings, _TomlFileSource(settings_cls, Path(path) if path else None)

    _split_lists = field_validator("allowed_models", "disabled_tools", "mcp_auth_tokens", mode="before")(
        _split_list
    )
    _check_bases = field_validator("api_base", "embed_base", "management_base", mode="before")(_base_url)

    @field_validator("aliases", "fallbacks", mode="before")
    @classmethod
    def _json_object(cls, value: Any) -> Any:
        # Decoded here rather than by pydantic-settings, whose own decoding error is a traceback that
        # names neither the variable's accepted form nor what was wrong with the value.
        if not isinstance(value, str):
            return value
        try:
            decoded = json.loads(value) if value.strip() else {}
        except (ValueError, RecursionError):
            raise ValueError("not a JSON object") from None
        if not isinstance(decoded, dict):
            raise ValueError("not a JSON object")
        return decoded

    @field_validator("extra_headers", mode="before")
    @classmethod
    def _parse_headers(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("{"):
                try:
                    value = json.loads(text)
                except RecursionError:
                    raise ValueError("nested too deeply to read") from None
            else:
                pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
                if any(len(pair) != 2 for pair in pairs):
                    raise ValueError("each entry must be Name=value")
                value = {name.strip(): val.strip() for name, val in pairs}
        if isinstance(value, dict):
            for name in value:
                if not isinstance(name, str) or not _HEADER_NAME_RE.match(name):
                    raise ValueError(f"{name!r} is not a valid header name")
                if name.lower() in _RESERVED_HEADERS:
                    raise ValueError(f"{name} is set by the client itself and cannot be overridden")
                header_value = value[name]
                if isinstance(header_value, str) and not (
                    header_value.isascii() and header_value.isprintable()
                ):
                    # Refused here rather than on every request, which could not encode it. Where, never
                    # what: a header set here may carry a gateway's credential.
                    at = next(
                        at
                        for at, char in enumerate(header_value, 1)
                        if not (char.isascii() and char.isprintable())
                    )
                    raise ValueError(
                        f"the value of {name} has a character no header can carry (non-ASCII or a control "
                        f"character) at position {at}"
                    )
        return value

    @field_validator("mcp_public_url", mode="before")
    @classmethod
    def _public_url(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return check_public_url(value) if isinstance(value, str) else value

    @field_validator("api_key", "oauth_token", "client_id", "client_secret", "mcp_auth", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        # Client configs often carry `"CHUTES_API_KEY": ""` as a placeholder: that means no key.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("mcp_redis_url", mode="before")
    @classmethod
    def _redis_url(cls, value: Any) -> Any:
        if isinstance(value, str | SecretStr):
            text = value.get_secret_value() if isinstance(value, SecretStr) else value
            if not text.strip():
                return None
            scheme = urlsplit(text.strip()).scheme
            if scheme not in ("redis", "rediss", "unix"):
                raise ValueError("must start with redis://, rediss:// or unix://")
            return text.strip()
        return value

    @field_validator("mcp_redis_key_secret")
    @classmethod
    def _redis_key_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        # A secret derived from anything the replicas can see anyway (the Redis URL, say) would let
        # whoever reads Redis test a guessed credential against its keys; a given one does not.
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("is shorter than 32 characters")
        if value is None and info.data.get("mcp_redis_url") is not None:
            raise ValueError("is required with CHUTES_MCP_REDIS_URL")
        return value

    @field_validator("max_upstream_keepalive")
    @classmethod
    def _keepalive_within_pool(cls, value: int, info: ValidationInfo) -> int:
        connections = info.data.get("max_upstream_connections")
        if connections is not None and value > connections:
            raise ValueError(f"is more than CHUTES_MAX_UPSTREAM_CONNECTIONS ({connections})")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("token_file")
    @classmethod
    def _not_a_directory(cls, value: Path | None) -> Path | None:
        if value is not None and value.is_dir():
            raise ValueError("is a directory")
        return value

    @field_validator("cache_dir")
    @classmethod
    def _not_a_file(cls, value: Path | None) -> Path | None:
        if value is not None and value.exists() and not value.is_dir():
            raise ValueError("is not a directory")
        return value

    @field_validator("oauth_redirect_uri")
    @classmethod
    def _loopback_redirect(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme != "http" or not is_loopback_host(parts.hostname) or parts.port is None:
            raise ValueError("must be http://127.0.0.1:<port>/<path> (a loopback address with a port)")
        return value

    @property
    def token_path(self) -> Path:
        """Where Sign in with Chutes keeps its tokens (0600)."""
        if self.token_file is not None:
            return self.token_file
        import platformdirs  # when a default path is first needed: after a server's first answer

        return Path(platformdirs.user_config_dir(APP_NAME)) / "oauth-token.json"

    @property
    def catalog_cache_path(self) -> Path:
        """Where the last good model catalog is kept, so a start without network still knows the models."""
        if self.cache_dir is not None:
            return self.cache_dir
        import platformdirs

        return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))

    @property
    def burst(self) -> int:
        """Requests allowed back to back before the limiter spaces them out.

        Default: a sixth of the per-minute rate, between 1 and 10, so a burst of tool calls stays far
        below the sizes that earn Chutes' escalating 429 bans.
        """
        return self.rate_limit_burst or min(10, max(1, self.rate_limit_rpm // 6))


_SECRET_FIELDS = frozenset(
    {
        "api_key",
        "oauth_token",
        "client_secret",
        "extra_headers",
        "mcp_auth_tokens",
        "mcp_public_url",
        "mcp_redis_url",
        "mcp_redis_key_secret",
    }
)


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "?"
        reason = error["msg"].removeprefix("Value error, ")
        shown = "" if field in _SECRET_FIELDS else f" (got {error.get('input')!r})"
        accepted = _ACCEPTED_FORM.get(field)
        if error["type"] == "extra_forbidden":
            lines.append(f"{field}: unknown setting")
            continue
        lines.append(f"{env_name(field)}: {reason}{shown}; expected {accepted}")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def load_settings(config_file: Path | str | None = None, **overrides: Any) -> Settings:
    """Build the settings once at start; raises `ConfigError` with a readable message."""
    if config_file is not None:
        overrides["config_file"] = Path(config_file)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
