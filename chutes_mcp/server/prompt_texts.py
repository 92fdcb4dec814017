"""The texts of the MCP prompts (see `prompts`), each naming concrete models from the current catalog."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS

from chutes_mcp.chutes.catalog.details import second_opinion_pick
from chutes_mcp.chutes.catalog.filters import ModelFilter
from chutes_mcp.chutes.catalog.picker import PickRequest, pick_models
from chutes_mcp.chutes.catalog.presets import PRESET_NAMES
from chutes_mcp.chutes.errors import ChutesError
from chutes_mcp.server.runtime import Runtime


@contextmanager
def _as_invalid_params() -> Iterator[None]:
    """A prompt argument Chutes cannot use is the caller's to fix: a -32602 that says how."""
    try:
        yield
    except ChutesError as exc:
        raise MCPError(
            code=INVALID_PARAMS, message=f"{exc.code}: {exc.message}. Hint: {exc.hint}", data=exc.to_dict()
        ) from None


def _invalid(message: str) -> MCPError:
    return MCPError(code=INVALID_PARAMS, message=message)


async def _private_target(runtime: Runtime, model: str) -> str:
    view = await runtime.catalog_view()
    if model:
        return runtime.resolver.resolve(view, model, tee_only=True).model
    routing = pick_models(view, PickRequest(task="private", k=3)).routing
    if routing is None:
        raise _invalid("no TEE model is in the catalog right now")
    return routing


async def private_chat_text(runtime: Runtime, request: str, model: str = "") -> str:
    with _as_invalid_params():
        target = await _private_target(runtime, model)
    return (
        "Handle the request below in confidence. Send it only through the chutes `chat` tool, with "
        f'`tee_only: true` and `model: "{target}"`: these models run in Trusted Execution Environments, '
        "so not even the host can read the request. Do not pass it to any other tool or model.\n\n"
        f"Request:\n{request}"
    )


async def second_opinion_text(
    runtime: Runtime, question: str, first_answer: str = "", first_model: str = ""
) -> str:
    tee_only = runtime.settings.tee_only
    with _as_invalid_params():
        view = await runtime.catalog_view()
        first = runtime.resolver.resolve(
            view, first_model or runtime.settings.default_model, tee_only=tee_only
        )
    first_id = first.model_ids[0]
    pick = second_opinion_pick(view, first_id, tee_only=tee_only)
    if pick is None:
        raise _invalid(f"no model of another family than {first_id} meets the constraints")
    text = (
        f"Get a second opinion from {pick.id}, a model of another family than {first_id}. Call the chutes "
        f'`chat` tool with `model: "{pick.id}"` and ask it the question below'
    )
    if first_answer:
        text += ", showing it the first answer to critique"
    text += (
        ". Then compare: where the answers agree, where they differ, and which is better supported.\n\n"
        f"Question:\n{question}"
    )
    if first_answer:
        text += f"\n\nFirst answer ({first_id}):\n{first_answer}"
    return text


async def choose_model_text(runtime: Runtime, task: str = "general", needs: str = "") -> str:
    if task not in PRESET_NAMES:
        raise _invalid(f"unknown task {task!r}; the presets are {', '.join(PRESET_NAMES)}")
    constraints = ModelFilter(tee_only=runtime.settings.tee_only)
    request = PickRequest.model_validate({"task": task, "constraints": constraints, "k": 3})
    result = pick_models(await runtime.catalog_view(), request)
    picks = "\n".join(f"{pick.rank}. {pick.id}: {'; '.join(pick.reasons[:2])}" for pick in result.picks)
    goal = needs or f"{task} work"
    return (
        f"Help me choose a Chutes model for: {goal}.\n"
        f"Top picks for the {task} preset ({result.summary}):\n{picks or 'none meet the constraints'}\n"
        "If my needs call for other constraints (tee_only, features, input_modality, min_context, "
        "max_input_price, max_output_price), call `pick_model` with them; use `get_model` for details. "
        "Then recommend one model and a failover list to pass to `chat` as `model`, with one line why."
    )
