"""Learned, quality-aware routing: a model predicts from the prompt how much a stronger model
helps (a difficulty in [0, 1]); the `learned` strategy sends prompts above a threshold to the
strongest candidate. See docs/learned.md.

Only the settings are imported here (config loading must not need numpy); the model, scorer,
training and feedback modules need the `semantic` extra and are imported where used.
"""

from llm_router_middleware.learned.settings import Knob, LearnedSettings

__all__ = ["Knob", "LearnedSettings"]
