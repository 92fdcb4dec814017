"""What the server tells a model about itself when a client connects."""

INSTRUCTIONS = """\
Chutes (chutes.ai) runs open-weight LLMs, many inside Trusted Execution Environments (TEE), behind one API.
- chat: ask a Chutes model. Set `model` to an id, an alias (chutes-default, chutes-fast, chutes-pro,
  chutes-vision) or a failover list "a,b,c"; `tee_only` keeps the call inside TEEs. Returns text, tool
  calls, usage and cost.
- pick_model: choose a model for a task (general, coding, reasoning, vision, long_context, tool_use, json,
  cheap, private) with reasons and a ready failover list. Use it before chat when unsure.
- list_models / get_model: browse the live catalog (prices per 1M tokens, context, features, TEE).
- embed: embedding vectors for texts, with any Chutes embedding model; floats, or base64 for many.
- account: balance and daily quota.
Errors start with a stable code (e.g. rate_limited, model_unavailable, tee_required) and end with a JSON
object whose `hint` says what to do next.
"""
