from __future__ import annotations

from collections import deque

import pytest

from chutes_mcp.sim.faults import Fault, FaultBook, FaultKind, FaultSyntaxError, Scenario, parse_script


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("429,429,ok", [Fault(FaultKind.RATE_LIMITED)] * 2 + [Fault(FaultKind.OK)]),
        (" 503 , 500", [Fault(FaultKind.NO_INSTANCES), Fault(FaultKind.EXHAUSTED)]),
        ("slow-first-byte:250", [Fault(FaultKind.SLOW_FIRST_BYTE, 250)]),
        ("slow-tokens:5,drop", [Fault(FaultKind.SLOW_TOKENS, 5), Fault(FaultKind.DROP)]),
        ("429-html,402,426,401,403", [Fault(FaultKind(k)) for k in ("429-html", "402", "426", "401", "403")]),
        ("midstream-error,malformed", [Fault(FaultKind.MIDSTREAM_ERROR), Fault(FaultKind.MALFORMED)]),
    ],
)
def test_parse_script(text: str, expected: list[Fault]) -> None:
    assert parse_script(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty fault script"),
        ("418", "unknown fault '418'"),
        ("slow-tokens", "needs a delay in ms"),
        ("slow-tokens:fast", "needs a delay in ms"),
        ("429:3", "takes no argument"),
    ],
)
def test_parse_script_rejects(text: str, message: str) -> None:
    with pytest.raises(FaultSyntaxError, match=message):
        parse_script(text)


def test_header_scripts_are_consumed_in_order_per_caller_and_session() -> None:
    book = FaultBook()

    def take(caller: str = "a", session: str = "") -> str | None:
        fault = book.next_fault(route="chat", model="m", header="429,ok", caller=caller, session=session)
        return fault.label if fault else None

    assert [take(), take(), take()] == ["429", "ok", None]
    assert take(caller="b") == "429"
    assert take(session="other") == "429"


def test_queued_scenarios_match_route_and_model() -> None:
    book = FaultBook()
    book.queue(Scenario(faults=deque([Fault(FaultKind.NO_INSTANCES)]), route="chat", model="x"))

    def take(route: str, model: str | None) -> Fault | None:
        return book.next_fault(route=route, model=model, header=None, caller="a", session="")

    assert take("embeddings", "x") is None
    assert take("chat", "y") is None
    assert take("chat", "x") == Fault(FaultKind.NO_INSTANCES)
    assert take("chat", "x") is None
    assert book.pending() == []


def test_queued_scenarios_can_target_one_caller() -> None:
    book = FaultBook()
    book.queue(Scenario(faults=deque([Fault(FaultKind.RATE_LIMITED)]), route="chat", caller="key:a"))

    def take(caller: str) -> Fault | None:
        return book.next_fault(route="chat", model="m", header=None, caller=caller, session="")

    assert take("key:b") is None
    assert take("key:a") == Fault(FaultKind.RATE_LIMITED)
