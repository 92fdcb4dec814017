"""The names of `pick_model`'s task presets and selectors, apart from what a preset means (`picker.PRESETS`).

The CLI's parser and the server's prompts offer them before anything loads the picker.
"""

from typing import Literal, get_args

Preset = Literal[
    "general", "coding", "reasoning", "vision", "long_context", "tool_use", "json", "cheap", "private"
]
PRESET_NAMES: tuple[Preset, ...] = get_args(Preset)
Selector = Literal["failover", "latency", "throughput"]
