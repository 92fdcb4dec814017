"""MCP prompts: ready-made requests for private work, a second opinion, and choosing a model.

Each prompt names concrete models from the current catalog (`prompt_texts`), so the assistant can act
on it at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, cast

from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, Prompt
from pydantic import Field

from chutes_mcp.chutes.catalog.presets import PRESET_NAMES
from chutes_mcp.server.prompt_texts import choose_model_text, private_chat_text, second_opinion_text
from chutes_mcp.server.runtime import Runtime

# Prompt arguments whose values complete from the catalog or the presets (see `autocomplete`).
TEE_MODEL_ARGUMENTS = {("private_chat", "model")}
MODEL_ARGUMENTS = {("second_opinion", "first_model")}
TASK_ARGUMENTS = {("choose_model", "task")}


def _runtime(ctx: Context) -> Runtime:
    # The SDK injects a bare `Context` into resources and prompts; its lifespan state is the runtime.
    return cast(Runtime, ctx.request_context.lifespan_context)


def register_prompts(server: MCPServer[Runtime]) -> None:
    @server.prompt(
        title="Private chat (TEE only)",
        description="Have a request answered only by models running in a TEE (confidential compute).",
    )
    async def private_chat(
        request: Annotated[str, Field(description="What to ask, in full.")],
        ctx: Context,
        model: Annotated[str, Field(description="A TEE model to use; default: the top private picks.")] = "",
    ) -> str:
        return await private_chat_text(_runtime(ctx), request, model)

    @server.prompt(
        title="Second opinion",
        description="Ask a model of another family the same question and compare the answers.",
    )
    async def second_opinion(
        question: Annotated[str, Field(description="The question both models answer.")],
        ctx: Context,
        first_answer: Annotated[str, Field(description="The answer to check, if there is one.")] = "",
        first_model: Annotated[
            str, Field(description="The model that gave the first answer; default: the server's default.")
        ] = "",
    ) -> str:
        return await second_opinion_text(_runtime(ctx), question, first_answer, first_model)

    @server.prompt(
        title="Choose a model",
        description="Choose a Chutes model for a task, starting from the current top picks.",
    )
    async def choose_model(
        ctx: Context,
        task: Annotated[str, Field(description=f"A task preset: {', '.join(PRESET_NAMES)}.")] = "general",
        needs: Annotated[str, Field(description="What the model is for, in your words.")] = "",
    ) -> str:
        return await choose_model_text(_runtime(ctx), task, needs)


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
