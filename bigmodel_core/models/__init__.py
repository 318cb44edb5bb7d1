"""Model registry and the registered families (importing this registers them)."""
from ._registry import (  # noqa: F401
    create_model, default_model, list_models, model_entry, model_preset, register_model, resolve_params, switch_preset)
from . import bag, cnn, pretrained, rnn, textcnn, transformer  # noqa: F401  (importing registers the models)

from .hub import check_pretrained_folder, download_pretrained  # noqa: F401
from .pretrained import DEFAULT_WEIGHTS, suggested_weights  # noqa: F401
from .summary import model_overview, size_against, summarize  # noqa: F401

__all__ = ["DEFAULT_WEIGHTS", "check_pretrained_folder", "download_pretrained", "size_against", "suggested_weights",
           "create_model", "default_model", "list_models", "model_entry", "model_overview", "model_preset", "register_model",
           "resolve_params", "summarize", "switch_preset"]
