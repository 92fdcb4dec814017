"""`chat`: ask a Chutes model, streamed, with failover, a cost guard and progress notifications."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from chutes_mcp.chutes.chat.budget import enforce_cost_limit, estimate_prompt_tokens
from chutes_mcp.chutes.chat.cost import TokenPrices
from chutes_mcp.chutes.chat.failover import Attempt, ChatOutcome, run_chat
from chutes_mcp.chutes.chat.plan import ChatNeeds
from chutes_mcp.chutes.chat.progress import ProgressUpdate
from chutes_mcp.chutes.chat.reasoning import REASONING_CHARS, clip_reasoning
from chutes_mcp.chutes.chat.reasoning_switches import EFFORTS_ON, ReasoningEffort, reasoning_controls
from chutes_mcp.chutes.chat.request import ChatRequest
from chutes_mcp.chutes.types import QuotaHeaders, Usage
from chutes_mcp.server.runtime import Runtime
from chutes_mcp.server.toolkit import (
    INVOKES_MODEL,
    Reply,
    ToolArguments,
    ToolContext,
    ToolSpec,
    enum_of_one,
    finite_json,
    tagged_union_as_any_of,
    without_additional_properties,
)

MAX_TOKENS_LIMIT = 262_144
MAX_FALLBACKS = 5
# Lower bounds are inclusive: an exclusive one (`gt`) is not portable JSON Schema (see toolkit), so
# each is the smallest value that still means something.
# Chutes takes any top_p in (0, 1]; below 1% the nucleus is practically always the one likeliest
# token, which temperature 0 says plainly.
MIN_TOP_P = 0.01
# A deadline under 0.1 s expires before any model can answer.
MIN_TIMEOUT_S = 0.1
# A billionth of a dollar is less than any one token costs, so this cap already refuses every priced model.
MIN_COST_USD = 1e-9


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, allow_inf_nan=False, json_schema_extra=without_additional_properties
    )


class TextPart(_Strict):
    type: Literal["text"] = Field(json_schema_extra=enum_of_one)
    text: str


class ImageURL(_Strict):
    url: str = Field(
        pattern=r"^(https://|data:image/)",
        description="An https:// URL (Chutes fetches it) or a data:image/...;base64,... URI.",
    )
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(_Strict):
    type: Literal["image_url"] = Field(json_schema_extra=enum_of_one)
    image_url: ImageURL


ContentPart = Annotated[
    TextPart | ImagePart, Field(discriminator="type", json_schema_extra=tagged_union_as_any_of)
]


class FunctionCall(_Strict):
    name: str
    arguments: str = Field(description="The arguments as a JSON string.")


class AssistantToolCall(_Strict):
    id: str
    type: Literal["function"] = Field("function", json_schema_extra=enum_of_one)
    function: FunctionCall


class Message(_Strict):
    """One OpenAI-style chat message."""

    role: Literal["system", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = Field(
        None, description="Text, or a list of text and image_url parts (images in user messages only)."
    )
    name: str | None = None
    tool_calls: list[AssistantToolCall] | None = Field(
        None, description="Assistant messages: the tool calls it made (from an earlier chat result)."
    )
    tool_call_id: str | None = Field(None, description="Tool messages: the id of the call this answers.")

    @model_validator(mode="after")
    def _fits_role(self) -> Self:
        if self.role == "tool" and not self.tool_call_id:
            raise ValueError("a tool message needs tool_call_id")
        if self.role != "tool" and self.tool_call_id:
            raise ValueError(f"tool_call_id belongs on tool messages, not {self.role}")
        if self.tool_calls and self.role != "assistant":
            raise ValueError(f"tool_calls belong on assistant messages, not {self.role}")
        if self.content is None and not self.tool_calls:
            raise ValueError(f"a {self.role} message needs content")
        if self.role != "user" and isinstance(self.content, list) and _has_image(self.content):
            raise ValueError("images are accepted in user messages only")
        return self


def _has_image(content: list[TextPart | ImagePart]) -> bool:
    return any(isinstance(part, ImagePart) for part in content)


class FunctionSpec(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str | None = None
    parameters: Annotated[dict[str, Any], AfterValidator(finite_json)] = Field(
        default_factory=lambda: {"type": "object", "properties": {}},
        description="JSON Schema of the arguments.",
        json_schema_extra=without_additional_properties,
    )


class ToolDefinition(_Strict):
    type: Literal["function"] = Field("function", json_schema_extra=enum_of_one)
    function: FunctionSpec


class ToolName(_Strict):
    name: str


class NamedToolChoice(_Strict):
    type: Literal["function"] = Field("function", json_schema_extra=enum_of_one)
    function: ToolName


class JsonObjectFormat(_Strict):
    type: Literal["json_object"] = Field(json_schema_extra=enum_of_one)


class JsonSchemaSpec(_Strict):
    name: str = Field("response", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str | None = None
    json_schema: Annotated[dict[str, Any], AfterValidator(finite_json)] = Field(
        alias="schema",
        description="The JSON Schema the answer must follow.",
        json_schema_extra=without_additional_properties,
    )
    strict: bool | None = None


class JsonSchemaFormat(_Strict):
    type: Literal["json_schema"] = Field(json_schema_extra=enum_of_one)
    json_schema: JsonSchemaSpec


ResponseFormat = Annotated[
    JsonObjectFormat | JsonSchemaFormat,
    Field(discriminator="type", json_schema_extra=tagged_union_as_any_of),
]


class ChatArgs(ToolArguments):
    prompt: str | None = Field(
        None,
        min_length=1,
        description="The user message. Give this or `messages`, not both.",
    )
    messages: list[Message] | None = Field(
        None,
        min_length=1,
        description="A whole conversation in OpenAI format (roles system, user, assistant, tool; "
        'content parts text and image_url, e.g. {"type": "image_url", "image_url": {"url": "https://..."}}). '
        "Give this or `prompt`, not both.",
    )
    system: str | None = Field(None, min_length=1, description="A system prompt, sent first.")
    model: str | None = Field(
        None,
        max_length=1000,
        description="A model id (e.g. `zai-org/GLM-4.7-TEE`), an alias (chutes-default, chutes-fast, "
        "chutes-pro, chutes-vision) or a Chutes routing string `a,b,c` (tried in order) / `a,b:latency`. "
        "Default: the server's CHUTES_DEFAULT_MODEL.",
    )
    fallbacks: (
        Annotated[list[str], Field(min_length=1, max_length=MAX_FALLBACKS)]
        | Annotated[Literal["auto"], Field(json_schema_extra=enum_of_one)]
        | None
    ) = Field(
        None,
        description="Models to try, in order, when the model is missing, cold, saturated or failing "
        'before its first token (e.g. ["chutes-fast", "deepseek-ai/DeepSeek-V3.2-TEE"]); or "auto" for '
        "the next pick_model picks that meet the same needs (TEE, images, tools, JSON schema). Default: "
        "the server's CHUTES_FALLBACKS list for the model.",
    )
    temperature: float | None = Field(None, ge=0, le=2, description="Sampling temperature, 0-2.")
    top_p: float | None = Field(
        None, ge=MIN_TOP_P, le=1, description=f"Nucleus sampling mass, {MIN_TOP_P}-1."
    )
    max_tokens: int | None = Field(
        None,
        ge=1,
        le=MAX_TOKENS_LIMIT,
        description="Most tokens to generate, reasoning included. Default: the model's own limit.",
    )
    stop: str | Annotated[list[str], Field(min_length=1, max_length=4)] | None = Field(
        None, description="Up to 4 sequences that end the answer."
    )
    seed: int | None = Field(None, description="Seed for repeatable sampling, where the engine honours it.")
    response_format: ResponseFormat | None = Field(
        None,
        description='`{"type": "json_object"}` for any JSON object, or `{"type": "json_schema", '
        '"json_schema": {"name": ..., "schema": {...}}}` for JSON that follows a schema.',
    )
    tools: Annotated[list[ToolDefinition], Field(min_length=1, max_length=128)] | None = Field(
        None,
        description="Functions the model may call (OpenAI format). Their calls come back in `tool_calls` "
        "for you to run; send the results back as `tool` messages.",
    )
    tool_choice: Literal["auto", "none", "required"] | NamedToolChoice | None = Field(
        None, description='"auto" (default with tools), "none", "required", or one function by name.'
    )
    thinking: bool | None = Field(
        None,
        description="Switch reasoning on or off, with the switch the model's family reads. A model that "
        "always reasons (DeepSeek-R1, Thinking releases, gpt-oss) still does, and `notes` says so. "
        "Default: the model's own.",
    )
    reasoning_effort: ReasoningEffort | None = Field(
        None,
        description="low/medium/high/max think, at that effort where the model takes levels (gpt-oss, "
        "Kimi-K3; the nearest it has), else simply thinking on; none/minimal do not think.",
    )
    include_reasoning: bool = Field(
        False,
        description=f"Return the reasoning text too, its last {REASONING_CHARS:,} characters, in `reasoning`.",
    )
    retry_without_thinking: bool = Field(
        False,
        description="When a reasoning model uses all of max_tokens thinking and writes no answer, "
        "retry once with thinking off instead of failing with empty_answer.",
    )
    tee_only: bool = Field(
        False,
        description="Only models in a Trusted Execution Environment; always on in CHUTES_TEE_ONLY mode.",
    )
    timeout_s: float | None = Field(
        None,
        ge=MIN_TIMEOUT_S,
        le=3600,
        description="Deadline for the whole call, failover included. Default: CHUTES_TIMEOUT_S.",
    )
    max_cost_usd: float | None = Field(
        None,
        ge=MIN_COST_USD,
        description="Keep the worst case (prompt estimate + max_tokens, at catalog prices) within this, "
        "e.g. 0.01: without max_tokens, max_tokens is capped at what it pays for (said in `notes`); "
        "refused before calling when max_tokens, or the shortest answer, could cost more, or the model has "
        "no published prices. The server cap CHUTES_MAX_COST_PER_CALL_USD applies as well (the lower one "
        "wins).",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of prompt and messages")
        if self.system is not None and self.messages and self.messages[0].role == "system":
            raise ValueError("give the system prompt either as `system` or as the first message, not both")
        effort_on = None if self.reasoning_effort is None else self.reasoning_effort in EFFORTS_ON
        if self.thinking is not None and effort_on is not None and self.thinking != effort_on:
            raise ValueError(
                f"thinking={self.thinking} contradicts reasoning_effort={self.reasoning_effort!r}"
            )
        if self.tool_choice is not None and not self.tools:
            raise ValueError("tool_choice needs tools")
        if isinstance(self.tool_choice, NamedToolChoice) and self.tools:
            names = {tool.function.name for tool in self.tools}
            if self.tool_choice.function.name not in names:
                raise ValueError(
                    f"tool_choice names {self.tool_choice.function.name!r}, which is not in tools"
                )
        return self

    def chat_messages(self) -> list[dict[str, Any]]:
        messages = [{"role": "system", "content": self.system}] if self.system is not None else []
        if self.prompt is not None:
            messages.append({"role": "user", "content": self.prompt})
        else:
            messages += [message.model_dump(exclude_none=True) for message in self.messages or ()]
        return messages

    def needs(self, tee_only: bool) -> ChatNeeds:
        images = any(
            isinstance(message.content, list) and _has_image(message.content)
            for message in self.messages or ()
        )
        return ChatNeeds(
            images=images,
            tools=bool(self.tools) and self.tool_choice != "none",
            json_schema=isinstance(self.response_format, JsonSchemaFormat),
            tee_only=tee_only,
        )


class ToolCallOut(BaseModel):
    id: str | None = Field(description="Send it back as `tool_call_id` with the result.")
    name: str = Field(description="The function to run.")
    arguments: str = Field(description="Its arguments, as the JSON string the model wrote.")


class AttemptOut(BaseModel):
    model: str = Field(description="The model tried.")
    outcome: str = Field(description="`ok`, `empty_answer`, or the error code that ended the attempt.")
    status: int | None = Field(description="HTTP status, when there was one.")
    ms: int = Field(description="Time spent on the attempt, retries included.")
    retries: int = Field(description="Retries the client made on this model.")
    usage: Usage | None = Field(description="Tokens Chutes billed for this attempt; null when none.")
    cost_usd: float | None = Field(description="USD for this attempt; null when unknown or not billed.")


class ChatResult(BaseModel):
    text: str = Field(description="The answer.")
    tool_calls: list[ToolCallOut] = Field(description="Function calls for you to run, if the model made any.")
    reasoning: str | None = Field(description="The reasoning text, when include_reasoning was set.")
    reasoning_truncated_chars: int = Field(description="Reasoning characters left out at the start.")
    finish_reason: str | None = Field(description="stop, length, tool_calls, ...")
    model_used: str = Field(description="The model that answered.")
    model_requested: str = Field(description="The model as asked for (or the server default).")
    attempts: list[AttemptOut] = Field(description="Every model tried, in order.")
    usage: Usage | None = Field(description="Tokens billed over every attempt (each one's in `attempts`).")
    cost_usd: float | None = Field(
        description="USD for every billed attempt at catalog prices; null when a price is unknown."
    )
    latency_ms: int = Field(description="Whole call, failover included.")
    ttft_ms: int | None = Field(description="From the start of the call to the first token.")
    invocation_id: str | None = Field(description="Chutes' id for the call, for support requests.")
    quota: QuotaHeaders = Field(
        description="The daily request quota after this call, where Chutes says it (null fields otherwise)."
    )
    notes: list[str] = Field(
        description="Things worth knowing: alias fallbacks, dropped fallbacks, retries, a capped max_tokens, "
        "and reasoning asks the model that answered cannot honour (thinking off on a model that always "
        "reasons, say)."
    )


def _attempt(attempt: Attempt) -> AttemptOut:
    return AttemptOut(
        model=attempt.model,
        outcome=attempt.outcome,
        status=attempt.status,
        ms=attempt.ms,
        retries=attempt.retries,
        usage=attempt.usage,
        cost_usd=attempt.cost_usd,
    )


def _result(args: ChatArgs, requested: str, outcome: ChatOutcome, notes: list[str]) -> ChatResult:
    answer = outcome.result
    reasoning, cut = clip_reasoning(answer.reasoning) if args.include_reasoning else (None, 0)
    if outcome.retried_without_thinking:
        notes.append("the first answer was empty (all tokens spent thinking); retried once with thinking off")
    return ChatResult(
        text=answer.text,
        tool_calls=[
            ToolCallOut(id=call.id, name=call.name, arguments=call.arguments) for call in answer.tool_calls
        ],
        reasoning=reasoning,
        reasoning_truncated_chars=cut,
        finish_reason=answer.finish_reason,
        model_used=answer.model,
        model_requested=requested,
        attempts=[_attempt(attempt) for attempt in outcome.attempts],
        usage=outcome.usage,
        cost_usd=outcome.cost_usd,
        latency_ms=outcome.latency_ms,
        ttft_ms=outcome.ttft_ms,
        invocation_id=answer.meta.invocation_id,
        quota=outcome.quota,
        notes=notes,
    )


def _text(result: ChatResult) -> str:
    body = result.text or "\n".join(f"Tool call {call.name}({call.arguments})" for call in result.tool_calls)
    usage = result.usage
    tokens = f"{usage.prompt_tokens} in / {usage.completion_tokens} out tokens" if usage else "usage unknown"
    cost = "cost unknown" if result.cost_usd is None else f"${result.cost_usd:.6f}"
    failover = f" · after {len(result.attempts) - 1} failed attempt(s)" if len(result.attempts) > 1 else ""
    return f"{body}\n\n— {result.model_used} · {tokens} · {cost}{failover}"


async def chat(runtime: Runtime, args: ChatArgs, ctx: ToolContext) -> Reply[ChatResult]:
    settings = runtime.settings
    view = await runtime.catalog_view()
    planner = runtime.planner
    needs = args.needs(tee_only=args.tee_only or settings.tee_only)
    plan = planner.plan(view, args.model, args.fallbacks, needs)
    messages = args.chat_messages()
    tools = [tool.model_dump(exclude_none=True) for tool in args.tools] if args.tools else None
    response_format = args.response_format.model_dump(by_alias=True) if args.response_format else None
    limits = [limit for limit in (args.max_cost_usd, settings.max_cost_per_call_usd) if limit is not None]
    max_tokens = args.max_tokens
    if limits:
        prompt_tokens = estimate_prompt_tokens(messages, tools=tools, response_format=response_format)
        budget = enforce_cost_limit(plan, min(limits), prompt_tokens, max_tokens)
        plan, max_tokens = budget.plan, budget.max_tokens
    tool_choice = (
        args.tool_choice.model_dump() if isinstance(args.tool_choice, NamedToolChoice) else args.tool_choice
    )
    request = ChatRequest(
        model=plan.candidates[0].model,
        messages=messages,
        max_tokens=max_tokens,
        temperature=args.temperature,
        top_p=args.top_p,
        stop=args.stop,
        seed=args.seed,
        tools=tools,
        tool_choice=tool_choice,
        response_format=response_format,
        # `:THINKING` on the model string means thinking on, unless `thinking` says otherwise.
        thinking=args.thinking if args.thinking is not None else (True if plan.thinking else None),
        reasoning_effort=args.reasoning_effort,
        # A ranked routing string carries one member's info, but Chutes picks the member: left unknown.
        catalog_reasoning={
            candidate.model: candidate.info.reasoning
            for candidate in plan.candidates
            if candidate.info is not None
            and candidate.info.id == candidate.model
            and candidate.info.reasoning is not None
        },
        tee_only=needs.tee_only,
    )

    def prices(model_id: str) -> TokenPrices | None:
        info = planner.model_info(view, model_id)
        if info is None or info.prices.prompt is None or info.prices.completion is None:
            return None
        return TokenPrices(info.prices.prompt, info.prices.completion, info.prices.cache_read)

    async def report(update: ProgressUpdate) -> None:
        await ctx.report_progress(update.value, None, update.message())

    outcome = await run_chat(
        runtime.client,
        request,
        [candidate.model for candidate in plan.candidates],
        prices=prices,
        deadline_s=args.timeout_s or settings.timeout_s,
        on_progress=report,
        on_text=runtime.answer_listener,
        retry_without_thinking=args.retry_without_thinking,
        progress_budget=runtime.progress,
    )
    answered = outcome.result.model
    info = planner.model_info(view, answered)
    # The notes are about the model that answered, with what it was finally asked.
    thinking, effort = (
        (False, None) if outcome.retried_without_thinking else (request.thinking, request.reasoning_effort)
    )
    reasoning = reasoning_controls(answered, thinking, effort, reasons=info.reasoning if info else None)
    result = _result(args, plan.requested, outcome, [*plan.notes, *reasoning.notes])
    return Reply(result, _text(result))


SPEC = ToolSpec(
    name="chat",
    title="Chat with a Chutes model",
    description="Ask a Chutes LLM: a prompt or a whole conversation (text and images), optional tools and "
    "JSON output, reasoning on or off, TEE-only, failover to other models, and a cost cap. Streams, "
    "with progress notifications. Returns the answer, tool calls, usage, cost and the model that answered.",
    args=ChatArgs,
    output=ChatResult,
    annotations=INVOKES_MODEL,
    body=chat,
)
