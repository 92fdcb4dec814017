"""MCP prompts: ready-made requests for private work, a second opinion, and choosing a model.

Each prompt names concrete models from the current catalog, so the assistant can act on it at once.
Listing them needs nothing but this module; their texts (`prompt_texts`) load with the runtime. The
prompts are declared as the SDK lists them rather than derived from the functions' signatures, which
cost a pydantic model and a JSON Schema per prompt at start for three lists of strings.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from mcp.server.mcpserver.prompts import Prompt
from mcp.server.mcpserver.prompts.base import PromptArgument
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS

from chutes_mcp.chutes.catalog.presets import PRESET_NAMES
from chutes_mcp.server.runtime_slot import RuntimeSlot

# Prompt arguments whose values complete from the catalog or the presets (see completions.py).
TEE_MODEL_ARGUMENTS = {("private_chat", "model")}
MODEL_ARGUMENTS = {("second_opinion", "first_model")}
TASK_ARGUMENTS = {("choose_model", "task")}


def _argument(name: str, description: str, *, required: bool = False) -> PromptArgument:
    return PromptArgument(name=name, description=description, required=required)


def _render(slot: RuntimeSlot, name: str) -> Callable[..., Awaitable[str]]:
    async def render(**arguments: str) -> str:
        runtime = await slot.runtime()
        from chutes_mcp.server.prompt_texts import TEXTS  # loaded with the runtime

        return await TEXTS[name](runtime, **arguments)

    return render


def _prompt(slot: RuntimeSlot, name: str, title: str, description: str, *arguments: PromptArgument) -> Prompt:
    return Prompt(
        name=name, title=title, description=description, arguments=list(arguments), fn=_render(slot, name)
    )


def build_prompts(slot: RuntimeSlot) -> tuple[Prompt, ...]:
    return (
        _prompt(
            slot,
            "private_chat",
            "Private chat (TEE only)",
            "Have a request answered only by models running in a TEE (confidential compute).",
            _argument("request", "What to ask, in full.", required=True),
            _argument("model", "A TEE model to use; default: the top private picks."),
        ),
        _prompt(
            slot,
            "second_opinion",
            "Second opinion",
            "Ask a model of another family the same question and compare the answers.",
            _argument("question", "The question both models answer.", required=True),
            _argument("first_answer", "The answer to check, if there is one."),
            _argument("first_model", "The model that gave the first answer; default: the server's default."),
        ),
        _prompt(
            slot,
            "choose_model",
            "Choose a model",
            "Choose a Chutes model for a task, starting from the current top picks.",
            _argument("task", f"A task preset: {', '.join(PRESET_NAMES)}."),
            _argument("needs", "What the model is for, in your words."),
        ),
    )


def _argument_problems(prompt: Prompt, given: set[str]) -> list[str]:
    declared = prompt.arguments or []
    unknown = given - {argument.name for argument in declared}
    missing = [argument.name for argument in declared if argument.required and argument.name not in given]
    problems = [f"no argument(s) {', '.join(sorted(unknown))}"] if unknown else []
    return problems + ([f"missing required argument(s) {', '.join(missing)}"] if missing else [])


def check_prompt_request(prompts: Mapping[str, Prompt], params: Mapping[str, Any]) -> None:
    """Refuse a `prompts/get` for an unknown prompt or with wrong arguments, as the caller's mistake.

    The SDK reports each of them as an internal error (-32603) with no message; the spec makes them
    invalid params (-32602), and the message says what to send instead.
    """
    name = params.get("name")
    prompt = prompts.get(name) if isinstance(name, str) else None
    if prompt is None:
        raise MCPError(
            code=INVALID_PARAMS, message=f"Unknown prompt: {name}; the prompts are {', '.join(prompts)}"
        )
    arguments = params.get("arguments") or {}
    problems = _argument_problems(prompt, set(arguments)) if isinstance(arguments, dict) else []
    if problems:
        accepted = ", ".join(argument.name for argument in prompt.arguments or []) or "none"
        raise MCPError(
            code=INVALID_PARAMS, message=f"{name}: {'; '.join(problems)}. Accepted arguments: {accepted}."
        )
