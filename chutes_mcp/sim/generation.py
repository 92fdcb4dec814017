"""Deterministic "model output": what the simulated engine generates for a chat request.

Rules (the README quotes them):
- **Seed.** The output depends only on the resolved model, the messages, the tools, the requested
  output format, whether thinking is on, the request's `seed` and the simulator's `--seed`. Sampling
  knobs (`temperature`, …), `max_tokens`, `stop` and `stream` do not change it: `max_tokens` and `stop`
  only cut the same text shorter, and a streamed answer is the non-streamed one in pieces.
- **Text.** Sentences of 6-12 words from a small vocabulary, 20-60 words in all, or exactly the
  `answer_tokens` knob's number when it is set (benchmarks of long streams). One word (with its
  leading space) is one token, so `usage.completion_tokens` is the number of words sent.
- **Reasoning.** When thinking is on, 12-40 words of reasoning come first and count against
  `max_tokens` first: a small budget returns `content: null` with `finish_reason: "length"` (the real
  "empty answer" quirk of reasoning models).
- **Stop.** Content is cut before the first occurrence of any `stop` string (`finish_reason: "stop"`,
  the string is reported as vLLM `stop_reason` / SGLang `matched_stop`). Stop strings do not apply to
  reasoning or tool calls.
- **JSON.** `response_format: json_object` yields a small JSON object; `json_schema` (also
  `structured_outputs.json` and `guided_json`) yields a valid instance of the schema (see
  `json_instances`). JSON text is cut into tokens at whitespace.
- **Tools.** A tool call is made when tools are sent, `tool_choice` is not `"none"`, and either
  `tool_choice` names a function (that one is called), is `"required"`, or the last message is from the
  user. The tools called are those whose name appears in the last user message (case-insensitive), else
  the first tool; one call only with `parallel_tool_calls: false`. After a tool result (last message
  from `tool`) the model answers in text. Arguments are a valid instance of the tool's `parameters`
  schema; `content` is null and `finish_reason` is `"tool_calls"`. `max_tokens` does not cut tool calls.
- **Prompt tokens.** A simple estimate: 4 per message plus one per 4 characters of text content (and
  of the tools' JSON), plus 2.
"""

from __future__ import annotations

import functools
import json
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chutes_mcp.sim.json_instances import instance

VOCABULARY = (
    "the", "model", "answer", "simple", "local", "data", "signal", "result", "value", "system", "quiet",
    "river", "stone", "bright", "clear", "network", "window", "garden", "light", "small", "steady", "path",
    "token", "cloud", "north", "paper", "silver", "green", "open", "calm", "field", "harbor", "echo",
    "frame", "vector", "orbit", "copper", "maple", "lantern", "summit", "meadow", "pixel", "engine",
    "forest", "ocean", "thread", "chart", "method", "detail", "careful", "useful", "gentle", "rapid",
    "plain", "honest", "shared", "early", "later", "often", "always", "within", "across", "around", "between",
)  # fmt: skip
_TOKEN = re.compile(r"\s*\S+")


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: str


@dataclass(frozen=True)
class OutputFormat:
    """What the caller asked the output to be: free text, any JSON object, or a schema's instance."""

    json_object: bool = False
    schema: Any = None


@dataclass(frozen=True)
class Prompt:
    model: str
    messages: Sequence[Any]
    thinking: bool
    output: OutputFormat
    tools: Sequence[Mapping[str, Any]]
    tool_choice: Any
    parallel_tool_calls: bool
    max_tokens: int | None
    stop: tuple[str, ...]
    seed: int
    answer_tokens: int = 0
    """Length of a free-text answer in words; 0 for the natural 20-60."""


@dataclass(frozen=True)
class Generation:
    reasoning: list[str]
    # None when nothing but reasoning (or only tool calls) came out, as the engines report it.
    content: list[str] | None
    tool_calls: list[ToolCall]
    finish_reason: str
    matched_stop: str | None
    prompt_tokens: int

    @property
    def completion_tokens(self) -> int:
        calls = sum(len(tokens(call.arguments)) + 1 for call in self.tool_calls)
        return len(self.reasoning) + len(self.content or ()) + calls

    @property
    def text(self) -> str | None:
        return None if self.content is None else "".join(self.content)


def tokens(text: str) -> list[str]:
    """Cut text into the simulator's tokens: each non-blank run with the blanks before it."""
    return _TOKEN.findall(text)


def generate(prompt: Prompt) -> Generation:
    prompt_tokens = estimate_prompt_tokens(prompt.messages, prompt.tools)
    if not prompt.tools and prompt.output.schema is None and not prompt.output.json_object:
        return _free_text(
            prompt.seed, prompt.thinking, prompt.answer_tokens, prompt.max_tokens, prompt.stop, prompt_tokens
        )
    rng = random.Random(prompt.seed)
    reasoning = _words(rng, 12, 40) if prompt.thinking else []
    calls = _tool_calls(prompt, rng)
    if calls:
        return Generation(reasoning, None, calls, "tool_calls", None, prompt_tokens)
    content = _content(prompt.output, rng, prompt.answer_tokens)
    return _within_budget(reasoning, content, prompt.max_tokens, prompt.stop, prompt_tokens)


# A free-text answer is a function of these arguments alone (the model and messages reach it through
# the seed), and clients, benchmarks above all, send the same prompt over and over. Cached
# generations are shared, so nothing may change them.
@functools.lru_cache(maxsize=1024)
def _free_text(
    seed: int,
    thinking: bool,
    answer_tokens: int,
    max_tokens: int | None,
    stop: tuple[str, ...],
    prompt_tokens: int,
) -> Generation:
    rng = random.Random(seed)
    reasoning = _words(rng, 12, 40) if thinking else []
    content = _content(OutputFormat(), rng, answer_tokens)
    return _within_budget(reasoning, content, max_tokens, stop, prompt_tokens)


def _within_budget(
    reasoning: list[str], content: list[str], budget: int | None, stops: tuple[str, ...], prompt_tokens: int
) -> Generation:
    """Cut the answer to `max_tokens` (reasoning counts first) and before the first stop string."""
    if budget is not None and len(reasoning) >= budget:
        return Generation(reasoning[: max(budget, 0)], None, [], "length", None, prompt_tokens)
    room = None if budget is None else budget - len(reasoning)
    kept = content if room is None else content[:room]
    stop_at, matched = _first_stop("".join(kept), stops)
    if matched is not None:
        return Generation(reasoning, _cut(kept, stop_at), [], "stop", matched, prompt_tokens)
    finish = "length" if len(kept) < len(content) else "stop"
    return Generation(reasoning, kept, [], finish, None, prompt_tokens)


def estimate_prompt_tokens(messages: Sequence[Any], tools: Sequence[Any]) -> int:
    chars = sum(len(_message_text(message)) for message in messages)
    if tools:
        chars += len(json.dumps(tools, separators=(",", ":")))
    return 2 + 4 * len(messages) + chars // 4


def _message_text(message: Any) -> str:
    if not isinstance(message, Mapping):
        return ""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", "")) for part in content if isinstance(part, Mapping) and "text" in part
        )
    return ""


def _words(rng: random.Random, low: int, high: int) -> list[str]:
    count = rng.randint(low, high)
    pieces: list[str] = []
    sentence_left = 0
    for index in range(count):
        word = rng.choice(VOCABULARY)
        if sentence_left == 0:
            word = word.capitalize()
            sentence_left = rng.randint(6, 12)
        sentence_left -= 1
        if sentence_left == 0 or index == count - 1:
            word += "."
            sentence_left = 0
        pieces.append(word if index == 0 else " " + word)
    return pieces


def _content(output: OutputFormat, rng: random.Random, answer_tokens: int = 0) -> list[str]:
    if output.schema is not None:
        return tokens(json.dumps(instance(output.schema, rng)))
    if output.json_object:
        summary = "".join(_words(rng, 4, 10))
        return tokens(json.dumps({"answer": summary, "confidence": round(rng.random(), 2)}))
    return _words(rng, answer_tokens, answer_tokens) if answer_tokens > 0 else _words(rng, 20, 60)


def _first_stop(text: str, stops: tuple[str, ...]) -> tuple[int, str | None]:
    best, matched = len(text), None
    for stop in stops:
        at = text.find(stop) if stop else -1
        if 0 <= at < best:
            best, matched = at, stop
    return best, matched


def _cut(pieces: list[str], length: int) -> list[str]:
    kept: list[str] = []
    used = 0
    for piece in pieces:
        if used + len(piece) > length:
            if length > used:
                kept.append(piece[: length - used])
            break
        kept.append(piece)
        used += len(piece)
    return kept


def _tool_calls(prompt: Prompt, rng: random.Random) -> list[ToolCall]:
    tools = [tool["function"] for tool in prompt.tools if isinstance(tool.get("function"), Mapping)]
    choice = prompt.tool_choice
    if not tools or choice == "none":
        return []
    if isinstance(choice, Mapping):
        forced = (choice.get("function") or {}).get("name")
        chosen = [tool for tool in tools if tool.get("name") == forced][:1]
    else:
        last = prompt.messages[-1] if prompt.messages else {}
        from_user = isinstance(last, Mapping) and last.get("role") == "user"
        if not from_user and choice != "required":
            return []
        said = _message_text(last).lower() if from_user else ""
        chosen = [tool for tool in tools if str(tool.get("name", "")).lower() in said] or tools[:1]
        if not prompt.parallel_tool_calls:
            chosen = chosen[:1]
    return [
        ToolCall(str(tool.get("name", "")), json.dumps(instance(tool.get("parameters") or {}, rng)))
        for tool in chosen
    ]
