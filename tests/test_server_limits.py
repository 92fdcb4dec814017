"""The rate limiter and the circuit breakers under bursts, timeouts and 429 storms, through a spawned
`chutes-mcp serve --transport http` and the official client.

What a caller must never see: capacity held by calls that already gave up (timed out or cancelled), a
line longer than the callers' deadlines (a call that cannot get its turn in time hears `rate_limited`
with `retry_after_s` at once), or requests sent to a model whose breaker has opened.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import anyio
import httpx2
import pytest
from hosted_support import concurrent_chats, outcome, sim_handle, status_of, wide_client
from http_support import http_server
from mcp_support import API_KEY, INSTRUCT_TEE_MODEL, error_of
from sim_process import SimProcess

pytestmark = pytest.mark.anyio

PLAIN = "unsloth/Mistral-Nemo-Instruct-2407"


async def test_callers_that_cannot_get_a_turn_in_time_are_told_at_once_and_hold_nothing(
    sim: SimProcess, tmp_path: Path
) -> None:
    # The defaults: 60 requests a minute, bursts of 10. 100 calls that each allow 2 s: about a dozen
    # get a turn within that, the rest are refused at once with when to come back.
    with http_server(sim, tmp_path) as server:
        async with wide_client(server.url) as client:
            with anyio.fail_after(60):
                burst = await concurrent_chats(client, 100, {"prompt": "hi", "model": PLAIN, "timeout_s": 2})
                # Straight after: a patient call is served, not sent to the back of a line of calls
                # that gave up long ago.
                after = await client.call_tool(
                    "chat", {"prompt": "hello again", "model": PLAIN, "timeout_s": 30}
                )
                limiter = (await status_of(client))["limiter"]
    outcomes = Counter(outcome(result) for result in burst)
    assert set(outcomes) <= {"ok", "rate_limited"}, outcomes
    assert 8 <= outcomes["ok"] <= 14, outcomes
    refusals = [error_of(result) for result in burst if result.is_error]
    assert all(error["retryable"] and error["retry_after_s"] > 0 for error in refusals)
    assert not after.is_error, after.content
    assert limiter["waiting"] == 0
    assert limiter["refused"] == outcomes["rate_limited"]
    # Honest figures: every slot taken is a request Chutes saw.
    assert limiter["acquired"] == sim.stats()["callers"][sim_handle(API_KEY)]["requests"]


async def test_a_429_storm_opens_the_breaker_before_the_queued_calls_go_out(
    sim: SimProcess, tmp_path: Path
) -> None:
    httpx2.post(
        f"{sim.url}/_sim/scenario", json={"faults": ["429"] * 200, "route": "chat", "model": PLAIN}
    ).raise_for_status()
    with http_server(sim, tmp_path, CHUTES_MAX_RETRIES="3") as server:
        async with wide_client(server.url) as client:
            with anyio.fail_after(60):
                storm = await concurrent_chats(client, 40, {"prompt": "hi", "model": PLAIN})
                # Neither the account nor another model waits behind the storm.
                other = await client.call_tool(
                    "chat", {"prompt": "hi", "model": INSTRUCT_TEE_MODEL, "timeout_s": 10}
                )
                account = await client.call_tool("account", {})
                document = await status_of(client)
    outcomes = Counter(outcome(result) for result in storm)
    assert set(outcomes) <= {"rate_limited", "model_unavailable"}, outcomes
    # Only the burst went out at once; every call queued behind it met the open breaker at its turn.
    sent = sim.stats()["requests"]["chat"]["by_model"][PLAIN]
    assert sent <= 10, sent
    paused = [error_of(result) for result in storm if outcome(result) == "model_unavailable"]
    assert paused
    # A pause says when it ends, and that waiting for it is worth it: the two agree.
    assert all(error["retryable"] and 0 < error["retry_after_s"] <= 30 for error in paused)
    assert not other.is_error, other.content
    assert not account.is_error, account.content
    (breaker,) = [b for b in document["breakers"] if b["model"] == PLAIN]
    assert breaker["state"] == "open"
    assert document["limiter"]["waiting"] == 0


async def test_a_breaker_that_opens_while_calls_wait_in_line_stops_them_without_a_slot(
    sim: SimProcess, tmp_path: Path
) -> None:
    # One request a second, no burst: every call after the first waits in line.
    env = {"CHUTES_RATE_LIMIT_RPM": "60", "CHUTES_RATE_LIMIT_BURST": "1", "CHUTES_MAX_RETRIES": "0"}
    httpx2.post(
        f"{sim.url}/_sim/scenario", json={"faults": ["503"] * 5, "route": "chat", "model": PLAIN}
    ).raise_for_status()
    with http_server(sim, tmp_path, **env) as server:
        async with wide_client(server.url) as client:
            with anyio.fail_after(60):
                results = await concurrent_chats(client, 8, {"prompt": "hi", "model": PLAIN})
                after = (await status_of(client))["limiter"]
    outcomes = Counter(outcome(result) for result in results)
    assert outcomes == {"model_unavailable": 8}, outcomes
    # Five failures open the breaker (five 503s, a second apart); the three behind them never leave.
    assert sim.stats()["requests"]["chat"]["by_model"][PLAIN] == 5
    assert after["acquired"] == sim.stats()["callers"][sim_handle(API_KEY)]["requests"]
    assert after["waiting"] == 0
