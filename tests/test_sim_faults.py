"""Every scripted fault, by `X-Sim-Fault` header and by `POST /_sim/scenario`, on the llm host."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx2
import openai
import pytest
from chat_support import (
    FIXTURES,
    HELLO,
    PLAIN_MODEL,
    SGLANG_MODEL,
    VLLM_MODEL,
    post_chat,
    sdk,
    session_headers,
)
from sim_process import SimProcess

from chutes_mcp.sim.catalog import chute_id_for

VIA = ["header", "control"]
NGINX_PAGE = (FIXTURES / "chat_completions_no_auth_429_2026-02-18.html").read_bytes()
MIDSTREAM_PREFIX = '{"error": "Unhandled exception during response stream: '


def _script(
    sim: SimProcess, via: str, fault: str, route: str = "chat", model: str | None = None
) -> dict[str, str]:
    """Headers for the next request, with `fault` scripted for it the chosen way."""
    if via == "header":
        return session_headers(fault)
    created = httpx2.post(
        f"{sim.url}/_sim/scenario", json={"faults": [fault], "route": route, "model": model}
    )
    assert created.status_code == 201
    return session_headers()


def _is_detail(status: int, detail: object) -> Callable[[httpx2.Response], None]:
    def check(response: httpx2.Response) -> None:
        assert response.status_code == status
        assert response.json() == {"detail": detail}

    return check


def _is_nginx_page(response: httpx2.Response) -> None:
    assert response.status_code == 429
    assert response.content == NGINX_PAGE


def _is_quota_402(response: httpx2.Response) -> None:
    assert response.status_code == 402
    detail = response.json()["detail"]
    assert set(detail) == {"message", "quota_reset_timestamp"}
    assert detail["message"].startswith("Quota exceeded and account balance is $0.0, please pay with fiat")


def _is_tee_426(response: httpx2.Response) -> None:
    assert response.status_code == 426
    assert response.json()["detail"].startswith("This chute does not have TEE enabled.")


REPLACING: dict[str, Callable[[httpx2.Response], None]] = {
    "429": _is_detail(429, "Infrastructure is at maximum capacity, try again later"),
    "429-html": _is_nginx_page,
    "503": _is_detail(503, f"No instances available (yet) for chute_id='{chute_id_for(PLAIN_MODEL)}'"),
    "402": _is_quota_402,
    "500": _is_detail(500, "exhausted all available targets to no avail"),
    "426": _is_tee_426,
    "401": _is_detail(401, "Invalid token."),
    "403": _is_detail(403, "Token does not have permission for this resource"),
}


@pytest.mark.parametrize("via", VIA)
@pytest.mark.parametrize("fault", list(REPLACING))
def test_error_faults_replace_the_answer_once(sim: SimProcess, fault: str, via: str) -> None:
    headers = _script(sim, via, fault)
    body = {"model": PLAIN_MODEL, "messages": HELLO}
    REPLACING[fault](post_chat(sim, body, headers))
    assert post_chat(sim, body, headers).status_code == 200
    stats = sim.stats()
    assert stats["faults_served"] == {fault: 1}
    assert stats["statuses"]["200"] == 1


@pytest.mark.parametrize("via", VIA)
def test_midstream_error_is_a_bare_json_line(sim: SimProcess, via: str) -> None:
    headers = _script(sim, via, "midstream-error")
    text = post_chat(sim, {"model": VLLM_MODEL, "messages": HELLO, "stream": True}, headers).text
    lines = [line for line in text.split("\n") if line]
    assert [line.startswith("data: ") for line in lines] == [True, True, False]
    assert lines[-1].startswith(MIDSTREAM_PREFIX)
    assert json.loads(lines[-1])["error"].startswith("Unhandled exception during response stream: ")
    assert "[DONE]" not in text
    assert sim.stats()["faults_served"] == {"midstream-error": 1}


@pytest.mark.parametrize("via", VIA)
def test_midstream_error_without_streaming_is_a_500(sim: SimProcess, via: str) -> None:
    response = post_chat(sim, {"model": PLAIN_MODEL, "messages": HELLO}, _script(sim, via, "midstream-error"))
    assert response.status_code == 500
    assert response.json()["detail"].startswith("Unhandled error generating response: ")


@pytest.mark.parametrize("via", VIA)
def test_drop_cuts_a_stream_after_its_first_token(sim: SimProcess, via: str) -> None:
    headers = _script(sim, via, "drop")
    body = {"model": SGLANG_MODEL, "messages": HELLO, "stream": True}
    received: list[str] = []
    with httpx2.stream("POST", f"{sim.llm_base}/chat/completions", json=body, headers=headers) as response:
        assert response.status_code == 200
        with pytest.raises(httpx2.RemoteProtocolError):
            received.extend(response.iter_lines())
    # The role chunk and the first token arrived, then nothing: no finish, no usage, no [DONE].
    received = [line for line in received if line]
    assert len(received) == 2
    assert sim.stats()["faults_served"] == {"drop": 1}


@pytest.mark.parametrize("via", VIA)
def test_drop_cuts_a_plain_answer(sim: SimProcess, via: str) -> None:
    headers = _script(sim, via, "drop")
    with pytest.raises(httpx2.RemoteProtocolError):
        post_chat(sim, {"model": PLAIN_MODEL, "messages": HELLO}, headers)
    headers = _script(sim, via, "drop")
    with sdk(sim) as client, pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model=PLAIN_MODEL, messages=HELLO, extra_headers=headers)  # type: ignore[arg-type]


@pytest.mark.parametrize("via", VIA)
def test_malformed_stream_has_one_broken_line(sim: SimProcess, via: str) -> None:
    headers = _script(sim, via, "malformed")
    text = post_chat(sim, {"model": PLAIN_MODEL, "messages": HELLO, "stream": True}, headers).text
    events = [event.removeprefix("data: ") for event in text.split("\n\n") if event]
    broken = [event for event in events if event != "[DONE]" and not _parses(event)]
    assert broken == ["{"]
    assert events[-1] == "[DONE]"


@pytest.mark.parametrize("via", VIA)
def test_malformed_plain_answer_is_truncated_json(sim: SimProcess, via: str) -> None:
    response = post_chat(sim, {"model": PLAIN_MODEL, "messages": HELLO}, _script(sim, via, "malformed"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert not _parses(response.text)
    assert response.text.startswith('{"id":')


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


@pytest.mark.parametrize("via", VIA)
@pytest.mark.parametrize("fault", ["slow-first-byte:30", "slow-tokens:2"])
@pytest.mark.parametrize("stream", [False, True])
def test_slow_faults_still_answer(sim: SimProcess, fault: str, via: str, stream: bool) -> None:
    response = post_chat(
        sim, {"model": PLAIN_MODEL, "messages": HELLO, "stream": stream}, _script(sim, via, fault)
    )
    assert response.status_code == 200
    assert (
        response.text.endswith("data: [DONE]\n\n")
        if stream
        else response.json()["choices"][0]["message"]["content"]
    )
    assert sim.stats()["faults_served"] == {fault: 1}


def test_header_scripts_run_in_order_per_session(sim: SimProcess) -> None:
    headers = session_headers("429,503,ok")
    body = {"model": PLAIN_MODEL, "messages": HELLO}
    assert [post_chat(sim, body, headers).status_code for _ in range(4)] == [429, 503, 200, 200]
    assert post_chat(sim, body, session_headers("429,503,ok")).status_code == 429


def test_control_scenarios_can_target_a_model(sim: SimProcess) -> None:
    _script(sim, "control", "503", model=SGLANG_MODEL)
    assert post_chat(sim, {"model": PLAIN_MODEL, "messages": HELLO}).status_code == 200
    assert post_chat(sim, {"model": SGLANG_MODEL, "messages": HELLO}).status_code == 503
    assert post_chat(sim, {"model": SGLANG_MODEL, "messages": HELLO}).status_code == 200


def test_a_bad_fault_header_is_a_400(sim: SimProcess) -> None:
    response = post_chat(sim, {"model": PLAIN_MODEL, "messages": HELLO}, session_headers("teapot"))
    assert response.status_code == 400
    assert "unknown fault 'teapot'" in response.json()["detail"]


def test_the_sdk_retries_through_scripted_overload(sim: SimProcess) -> None:
    with sdk(sim, max_retries=2) as client:
        completion = client.chat.completions.create(
            model=PLAIN_MODEL,
            messages=HELLO,  # type: ignore[arg-type]
            extra_headers=session_headers("429,503"),
        )
    assert completion.choices[0].message.content
    assert sim.stats()["faults_served"] == {"429": 1, "503": 1}


@pytest.mark.parametrize("via", VIA)
def test_model_list_faults(sim: SimProcess, via: str) -> None:
    _is_nginx_page(
        httpx2.get(f"{sim.llm_base}/models", headers=_script(sim, via, "429-html", route="models"))
    )
    malformed = httpx2.get(f"{sim.llm_base}/models", headers=_script(sim, via, "malformed", route="models"))
    assert malformed.status_code == 200
    assert not _parses(malformed.text)
    assert sim.stats()["faults_served"] == {"429-html": 1, "malformed": 1}
