"""Model registry and the registered families (importing this registers them)."""
from ._registry import (  # noqa: F401
    create_model, default_model, list_models, model_entry, register_model, resolve_params)
from . import bag, cnn, rnn, textcnn, transformer  # noqa: F401  (importing registers the models)

from .summary import model_overview, summarize  # noqa: F401

__all__ = ["create_model", "default_model", "list_models", "model_entry", "model_overview", "register_model",
           "resolve_params", "summarize"]
