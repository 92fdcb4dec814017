from __future__ import annotations

from pathlib import Path

import pytest

from chutes_mcp.config import ConfigError, load_settings, url_allows_credentials

KEY = "cpk_" + "a" * 32 + "." + "b" * 32 + "." + "C" * 32


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("CHUTES_"):
            monkeypatch.delenv(name)


def test_defaults() -> None:
    settings = load_settings()
    assert settings.api_base == "https://llm.chutes.ai/v1"
    assert settings.embed_base == "https://embed.chutes.ai/v1"
    assert settings.management_base == "https://api.chutes.ai"
    assert (settings.max_retries, settings.rate_limit_rpm, settings.burst) == (3, 60, 10)
    assert settings.oauth_redirect_uri == "http://127.0.0.1:1456/oauth-callback"
    assert settings.oauth_scopes == "openid profile chutes:invoke"
    assert settings.default_model == "chutes-default"
    assert settings.cache_ttl_s == 300


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "chutes.toml"
    config.write_text(
        'rate_limit_rpm = 120\nCHUTES_MAX_RETRIES = 5\napi_base = "http://127.0.0.1:9/v1/"\n'
        '[aliases]\nfast = "zai-org/GLM-4.7-FP8"\n[fallbacks]\n"zai-org/GLM-4.7-TEE" = ["Qwen/Qwen3-32B"]\n'
    )
    monkeypatch.setenv("CHUTES_MCP_CONFIG", str(config))
    monkeypatch.setenv("CHUTES_RATE_LIMIT_RPM", "30")
    monkeypatch.setenv("CHUTES_API_KEY", KEY)
    monkeypatch.setenv("CHUTES_ALLOWED_MODELS", "a, b,,c")
    monkeypatch.setenv("CHUTES_EXTRA_HEADERS", "X-A=1, X-B=two")
    settings = load_settings()
    assert settings.rate_limit_rpm == 30
    assert settings.max_retries == 5
    assert settings.api_base == "http://127.0.0.1:9/v1"
    assert settings.aliases == {"fast": "zai-org/GLM-4.7-FP8"}
    assert settings.fallbacks == {"zai-org/GLM-4.7-TEE": ["Qwen/Qwen3-32B"]}
    assert settings.allowed_models == ["a", "b", "c"]
    assert settings.extra_headers == {"X-A": "1", "X-B": "two"}
    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == KEY
    assert KEY not in repr(settings)


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("CHUTES_RATE_LIMIT_RPM", "fast", "CHUTES_RATE_LIMIT_RPM"),
        ("CHUTES_RATE_LIMIT_RPM", "0", "whole number of requests per minute"),
        ("CHUTES_MAX_RETRIES", "99", "CHUTES_MAX_RETRIES"),
        ("CHUTES_TIMEOUT_S", "-1", "CHUTES_TIMEOUT_S"),
        ("CHUTES_TEE_ONLY", "maybe", "true or false"),
        ("CHUTES_API_BASE", "http://llm.example.com/v1", "loopback"),
        ("CHUTES_API_BASE", "ftp://x", "CHUTES_API_BASE"),
        ("CHUTES_OAUTH_REDIRECT_URI", "https://example.com/cb", "CHUTES_OAUTH_REDIRECT_URI"),
        ("CHUTES_EXTRA_HEADERS", "Authorization=Bearer x", "cannot be overridden"),
        ("CHUTES_EXTRA_HEADERS", "novalue", "Name=value"),
        ("CHUTES_MAX_COST_PER_CALL_USD", "free", "US dollars"),
    ],
)
def test_invalid_values_name_the_variable_and_the_form(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, named: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert variable in str(caught.value)
    assert named in str(caught.value)
    assert "expected" in str(caught.value)


def test_secret_values_are_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHUTES_EXTRA_HEADERS", "X-Proxy-Key=supersecret,bad header=1")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "supersecret" not in str(caught.value)


def test_unknown_or_broken_file(tmp_path: Path) -> None:
    bad_key = tmp_path / "a.toml"
    bad_key.write_text("rate_limt_rpm = 1\n")
    with pytest.raises(ConfigError, match="unknown key 'rate_limt_rpm'"):
        load_settings(bad_key)
    broken = tmp_path / "b.toml"
    broken.write_text("rate_limit_rpm = = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken)
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://llm.chutes.ai/v1", True),
        ("http://127.0.0.1:8089/v1", True),
        ("http://[::1]:8089/v1", True),
        ("http://localhost/v1", True),
        ("http://llm.chutes.ai/v1", False),
        ("http://10.0.0.1/v1", False),
    ],
)
def test_credentials_travel_only_over_https_or_loopback(url: str, allowed: bool) -> None:
    assert url_allows_credentials(url) is allowed
