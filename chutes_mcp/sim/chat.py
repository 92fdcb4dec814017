"""`POST /v1/chat/completions`: chutes-api's request pipeline in front of a simulated vLLM/SGLang engine.

Order (reference §3.1): auth (none: the edge's nginx 429 page; bad: 401; OAuth token without an
invoke scope: 403) → body checks and rewrites (`chat_request`) → model resolution (`model_routing`;
unknown: 404) → `X-TEE-Only` (426) → quota (402) → message checks (400) → scripted faults (per
failover candidate: a scripted 429/503 moves on to the next one) → generation and the answer.
"""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from chutes_mcp.sim import model_profile
from chutes_mcp.sim.billing import invoice
from chutes_mcp.sim.chat_request import ChatRequest, Rejection, check_messages, read_chat_request
from chutes_mcp.sim.completion_shapes import ChunkWriter, completion_body, tool_call_id
from chutes_mcp.sim.faults import Fault, FaultKind
from chutes_mcp.sim.generation import Prompt, generate
from chutes_mcp.sim.identity import Account, Principal
from chutes_mcp.sim.invocation import admission, caller, sim_state
from chutes_mcp.sim.model_routing import candidates
from chutes_mcp.sim.pacing import Pacing
from chutes_mcp.sim.plain_delivery import deliver
from chutes_mcp.sim.state import SimState
from chutes_mcp.sim.streaming import EventStream

NO_CORD = "No matching cord found!"
FAILOVER_STATUSES = frozenset({429, 503})


class _Visit:
    """Counts one request in the stats exactly once, with the model it ended up on."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        self.model: str | None = None
        self.user: str | None = None
        self.reasoning_controls: dict[str, Any] = {}

    def done(self, status: int) -> None:
        stats = self.state.stats
        stats.record_request("chat", self.model, self.user)
        stats.record_status(status)
        if self.model is not None:
            stats.record_reasoning_controls(self.model, self.reasoning_controls)


async def chat_completions(request: Request) -> Response:
    """Serve a chat completion, streamed or not, exactly as chutes-api would.

    Used for `POST /v1/chat/completions` on the llm host and for `POST /v1/chat/completions` on a
    per-chute host: when `request.scope["chute_slug"]` is set, the chute is the one that slug names
    and the body's `model` is ignored (chutes-api overwrites it with the chute name for vLLM-template
    chutes, so any value or none works); a slug that is not an LLM chute answers 404 `No matching
    cord found!`. Stats are recorded under the route "chat".
    """
    state = sim_state(request)
    visit = _Visit(state)
    try:
        response = await _serve(request, state, visit)
    except Rejection as rejection:
        response = rejection.response()
    visit.done(response.status_code)
    return response


async def _serve(request: Request, state: SimState, visit: _Visit) -> Response:
    who = caller(request, state)
    if isinstance(who, Response):
        return who
    principal, account = who
    visit.user = principal.handle
    chat = await read_chat_request(request)
    visit.reasoning_controls = chat.controls
    entries = _chutes(request, state, chat, principal)
    if request.headers.get("x-tee-only", "").lower() == "true":
        # A failover list keeps its TEE members; with none left the refusal is the 426.
        entries = [entry for entry in entries if entry.get("confidential_compute")]
    refusal = admission(request, account, tee=bool(entries))
    if refusal is not None:
        return refusal
    check_messages(chat.body)
    for index, entry in enumerate(entries):
        visit.model = chat.body["model"] = entry["id"]
        outcome = await state.take_fault(request, route="chat", model=entry["id"], principal=principal)
        failing_over = index + 1 < len(entries)
        if not (isinstance(outcome, Response) and outcome.status_code in FAILOVER_STATUSES and failing_over):
            break
    if isinstance(outcome, Response):
        return outcome
    return await _answer(state, chat, entry, account, outcome)


def _chutes(
    request: Request, state: SimState, chat: ChatRequest, principal: Principal
) -> list[dict[str, Any]]:
    slug = request.scope.get("chute_slug")
    if slug is not None:
        entry = state.catalog.by_slug(slug)
        if entry is None:
            raise Rejection(404, NO_CORD)
        return [entry]
    aliases = state.aliases.get(principal.user_id, {})
    found = candidates(chat.model, state.catalog, aliases) if chat.model is not None else []
    if not found:
        raise Rejection(404, f"model not found: {chat.model}")
    return found


async def _answer(
    state: SimState, chat: ChatRequest, entry: dict[str, Any], account: Account, fault: Fault | None
) -> Response:
    profile = model_profile.profile(state.catalog, entry)
    thinking = profile.thinks(chat.thinking)
    body = chat.body
    generation = generate(
        Prompt(
            model=profile.name,
            messages=body["messages"],
            thinking=thinking,
            output=chat.output,
            tools=chat.tools,
            tool_choice=body.get("tool_choice"),
            parallel_tool_calls=body.get("parallel_tool_calls") is not False,
            max_tokens=chat.max_tokens,
            stop=chat.stop,
            seed=chat.seed(profile.name, thinking, state.options.seed),
            answer_tokens=state.answer_tokens,
        )
    )
    cost = profile.cost_usd(generation.prompt_tokens, generation.completion_tokens)
    headers = invoice(account, cost)
    call_ids = [tool_call_id(profile) for _ in generation.tool_calls]
    slow_ms = fault.ms if fault is not None and fault.kind is FaultKind.SLOW_TOKENS else 0
    pacing = Pacing(state.ttft_ms, state.tokens_per_s, slow_ms)
    created = int(time.time())
    if chat.stream:
        writer = ChunkWriter(profile, generation.prompt_tokens, created)
        return EventStream(generation, writer, call_ids, pacing, fault, headers, state.stats)
    await pacing.whole(generation.completion_tokens)
    payload = json.dumps(completion_body(profile, generation, call_ids, created), separators=(",", ":"))
    return deliver(payload.encode(), headers, fault)
