"""With DEBUG logging on, no key or token ever shows up in what the process writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from client_support import API_KEY, hello, sim_settings
from sim_process import SimProcess
from test_client_oauth import oauth_settings, sign_in

from chutes_mcp import log
from chutes_mcp.chutes.auth.oauth import TokenStore
from chutes_mcp.chutes.client import ChutesClient
from chutes_mcp.chutes.errors import ChutesError

pytestmark = pytest.mark.anyio


async def test_debug_logs_and_errors_never_show_a_secret(
    sim: SimProcess, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    log.configure("DEBUG")
    texts: list[str] = []
    async with ChutesClient(sim_settings(sim, tmp_path)) as client:
        await client.chat(hello())
        async for _ in client.chat_stream(hello()):
            pass
        await client.list_models_raw()
    async with ChutesClient(sim_settings(sim, tmp_path, fault="401,401", max_retries=0)) as client:
        with pytest.raises(ChutesError) as caught:
            await client.chat(hello())
        texts.append(str(caught.value.to_dict()))
    bad_key = "cpk_" + "z" * 97
    async with ChutesClient(sim_settings(sim, tmp_path, api_key=bad_key, max_retries=0)) as client:
        with pytest.raises(ChutesError) as caught:
            await client.chat(hello())
        texts.append(str(caught.value.to_dict()))

    settings = oauth_settings(sim, tmp_path)
    first = await sign_in(settings)
    TokenStore(settings.token_path).save(first.model_copy(update={"expires_at": 0.0}))
    async with ChutesClient(settings) as client:
        await client.chat(hello())
    second = TokenStore(settings.token_path).load()
    assert second is not None

    captured = capfd.readouterr()
    output = captured.out + captured.err + "\n".join(texts)
    assert "chutes.http" in output  # DEBUG logging really was on
    secrets = [
        API_KEY,
        bad_key,
        first.access_token.get_secret_value(),
        second.access_token.get_secret_value(),
    ]
    for tokens in (first, second):
        assert tokens.refresh_token is not None
        secrets.append(tokens.refresh_token.get_secret_value())
    for secret in secrets:
        assert secret not in output
        assert secret[:24] not in output
