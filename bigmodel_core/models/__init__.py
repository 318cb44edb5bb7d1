"""Model registry and the registered families (importing this registers them)."""
from ._registry import (  # noqa: F401
    create_model, default_model, list_models, model_entry, model_preset, register_model, resolve_params, switch_preset)
from . import bag, cnn, pretrained, rnn, textcnn, transformer  # noqa: F401  (importing registers the models)

from .summary import model_overview, summarize  # noqa: F401

__all__ = ["create_model", "default_model", "list_models", "model_entry", "model_overview", "model_preset", "register_model",
           "resolve_params", "summarize", "switch_preset"]
