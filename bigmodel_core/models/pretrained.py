"""A pretrained Transformer fine-tuned for classification (Hugging Face transformers: AutoModel + its tokenizer).

The encoder (BERT, DistilBERT, MiniLM, ...) comes from a local folder in Hugging Face format or
from the Hub on request (models.hub); the classifier is mean pooling over the real tokens,
dropout and one linear layer. Fine-tuning may train everything ("full"), only the head on frozen
pretrained features ("frozen": a linear probe), or the head and the top N encoder layers ("top").

How it slots into the engine without a branch in the callers:
- the model entry names its own text pipeline (`pipeline_for`: the model's sub-word tokenizer,
  data.text.pretrained_pipeline) and the step that loads the pretrained weights (`load_pretrained`);
- the model is always built from the encoder's config (recorded in the run as data_info["encoder"]),
  so counting parameters (on the meta device) and loading a saved run need neither the original
  folder nor the network: the saved run's own weights.safetensors holds the fine-tuned encoder.
Never `trust_remote_code`, never pickled weights (safetensors only; hub.check_pretrained_folder).
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, Optional

import torch
from torch import nn

from ..errors import ConfigError, ModelError, msg
from ..settings import Setting
from ._registry import register_model
from .hub import SUGGESTED, WEIGHTS, check_model_id, check_pretrained_folder

DEFAULT_WEIGHTS = "sentence-transformers/all-MiniLM-L6-v2"
FINETUNE = ("full", "frozen", "top")
_ATTENTION_LOCK = threading.Lock()  # switching the attention kernel is a change to a shared model
_QUIET = threading.Lock()
_quieted = False


def quiet_transformers() -> None:
    """transformers without its progress bars and advice in the user's terminal (once per process)."""
    global _quieted
    with _QUIET:
        if _quieted:
            return
        os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        _quieted = True


def hub_cache_folder(model_id: str, home: Path | str | None = None) -> Path:
    """Where a Hub model downloaded on request lives: BIGMODEL_HOME/cache/hub/<org--name>."""
    from ..data.download import cache_dir

    return cache_dir(Path(home) if home else None) / "hub" / model_id.replace("/", "--")


def suggested_weights(home: Path | str | None = None) -> list[dict[str, Any]]:
    """The Hub models the Model page offers, each with its sizes and whether it is downloaded already."""
    return [{**s, "downloaded": (hub_cache_folder(s["id"], home) / WEIGHTS).is_file()} for s in SUGGESTED]


def _looks_like_path(weights: str) -> bool:
    """A Hub id is NAME or ORG/NAME; anything else (absolute, ./, ~, a/b/c, backslashes) is a folder."""
    return weights.startswith(("/", ".", "~")) or weights.count("/") > 1 or "\\" in weights


def resolve_weights(weights: str, home: Path | str | None = None) -> Path:
    """The checked folder that `weights` names: a local folder, or a Hub id already downloaded.

    A Hub id that is not on this computer is a plain ModelError with the download size: nothing is
    downloaded here (only the Model page's Download button and `pretrained download` do that).
    """
    weights = str(weights or "").strip()
    if not weights:
        raise ConfigError(msg("errors.pretrained.no_weights", "No pretrained weights were given."),
                          msg("errors.pretrained.no_weights.hint", "Set weights to a model folder or a Hub model id, "
                              "for example weights={default}.", default=DEFAULT_WEIGHTS))
    path = Path(weights).expanduser()
    if path.is_dir():
        check_pretrained_folder(path)
        return path
    if _looks_like_path(weights):
        raise ModelError(msg("errors.pretrained.no_folder", "There is no folder '{folder}' with a pretrained model.",
                             folder=weights),
                         msg("errors.pretrained.no_folder.hint",
                             "Give the folder that holds config.json, model.safetensors and the tokenizer files."))
    check_model_id(weights)
    cached = hub_cache_folder(weights, home)
    if (cached / WEIGHTS).is_file():
        check_pretrained_folder(cached)
        return cached
    size = next((s["download_mb"] for s in SUGGESTED if s["id"] == weights), None)
    missing = (msg("errors.pretrained.not_downloaded_size",
                   "The pretrained model '{id}' is not on this computer yet (about {mb} MB).", id=weights, mb=size)
               if size is not None else
               msg("errors.pretrained.not_downloaded", "The pretrained model '{id}' is not on this computer yet.",
                   id=weights))
    raise ModelError(missing, msg("errors.pretrained.not_downloaded.hint",
                                  "Download it with the Download button on the Model page or with "
                                  "`python -m bigmodel_core pretrained download {id}`, or give a local folder with "
                                  "--set weights=PATH.", id=weights))


def read_encoder_config(folder: Path) -> dict[str, Any]:
    """The encoder's config.json as a plain dict (recorded in the run: a saved run rebuilds from it)."""
    return json.loads((folder / "config.json").read_text(encoding="utf-8"))


def _hf_config(encoder: dict[str, Any]):
    quiet_transformers()
    from transformers import CONFIG_MAPPING

    kind = encoder.get("model_type")
    if kind not in CONFIG_MAPPING or "auto_map" in encoder:
        raise ModelError(msg("errors.pretrained.unknown_type",
                             "The transformers library does not know the model type '{kind}'.", kind=kind),
                         msg("errors.pretrained.unknown_type.hint",
                             "Use a BERT-style encoder the library knows (BERT, DistilBERT, MiniLM, RoBERTa, ...)."))
    return CONFIG_MAPPING[kind].from_dict({k: v for k, v in encoder.items() if k != "model_type"})


def _num_layers(config) -> int:
    for key in ("num_hidden_layers", "n_layers", "num_layers"):
        if isinstance(getattr(config, key, None), int):
            return int(getattr(config, key))
    return 0


class PretrainedClassifier(nn.Module):
    """encoder -> mean over the real tokens -> dropout -> linear."""

    def __init__(self, encoder: dict[str, Any], num_classes: int, finetune: str, top_layers: int,
                 dropout: float) -> None:
        super().__init__()
        from transformers import AutoModel

        config = _hf_config(encoder)
        self.encoder = AutoModel.from_config(config)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(int(config.hidden_size if hasattr(config, "hidden_size") else config.dim), num_classes)
        self.finetune, self.top_layers = finetune, int(top_layers)
        self._freeze(finetune, int(top_layers))

    def blocks(self) -> nn.ModuleList:
        """The encoder's stack of Transformer layers (the longest ModuleList: encoder.layer for BERT)."""
        lists = [m for m in self.encoder.modules() if isinstance(m, nn.ModuleList)]
        return max(lists, key=len) if lists else nn.ModuleList()

    def _freeze(self, finetune: str, top: int) -> None:
        for p in self.encoder.parameters():
            p.requires_grad_(finetune == "full")
        if finetune == "top":
            for block in list(self.blocks())[-top:]:
                for p in block.parameters():
                    p.requires_grad_(True)
        pooler = getattr(self.encoder, "pooler", None)  # BERT's [CLS] pooler: unused by mean pooling
        if isinstance(pooler, nn.Module):
            for p in pooler.parameters():
                p.requires_grad_(False)

    @property
    def embedding(self) -> nn.Embedding:
        """The word-piece embedding (what Integrated Gradients scales from the baseline)."""
        return self.encoder.get_input_embeddings()

    @staticmethod
    def _mask(ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return torch.arange(ids.size(1), device=ids.device)[None, :] < lengths.to(ids.device)[:, None]

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        mask = self._mask(ids, lengths)
        hidden = self.encoder(input_ids=ids, attention_mask=mask.long()).last_hidden_state
        m = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1)
        return self.fc(self.dropout(pooled))

    @torch.no_grad()
    def attention(self, ids: torch.Tensor, lengths: torch.Tensor) -> list[torch.Tensor]:
        """Attention of every layer and head over the word pieces: list of (batch, heads, seq, seq).

        The fast attention kernel does not return its weights; the plain one is switched in for
        this call only (under a lock: the model may be shared by several sessions).
        """
        was_training = self.training
        self.eval()
        with _ATTENTION_LOCK:
            before = getattr(self.encoder.config, "_attn_implementation", None)
            try:
                if before not in (None, "eager"):
                    self.encoder.set_attn_implementation("eager")
                out = self.encoder(input_ids=ids, attention_mask=self._mask(ids, lengths).long(),
                                   output_attentions=True)
            finally:
                if before not in (None, "eager"):
                    self.encoder.set_attn_implementation(before)
                self.train(was_training)
        return list(out.attentions)


def load_pretrained(model: PretrainedClassifier, params: dict[str, Any]) -> None:
    """Put the pretrained weights from `params["weights"]` into a freshly built model's encoder."""
    folder = resolve_weights(params["weights"])
    quiet_transformers()
    from transformers import AutoModel

    try:
        src = AutoModel.from_pretrained(str(folder), use_safetensors=True, trust_remote_code=False)
        missing, unexpected = model.encoder.load_state_dict(src.state_dict(), strict=False)
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise ModelError(msg("errors.pretrained.load_failed",
                             "The pretrained weights in '{folder}' could not be loaded ({error}).",
                             folder=str(folder), error=type(exc).__name__),
                         msg("errors.pretrained.load_failed.hint", "Check that model.safetensors belongs to this "
                             "config.json, or download the model again.")) from None
    real_missing = [k for k in missing if not k.endswith("position_ids")]
    if real_missing:
        raise ModelError(msg("errors.pretrained.missing_tensors", "The pretrained weights in '{folder}' lack {n} "
                             "of the encoder's tensors (for example {example}).",
                             folder=str(folder), n=len(real_missing), example=real_missing[0]),
                         msg("errors.pretrained.missing_tensors.hint",
                             "Use the model.safetensors that came with this config.json."))
    del src, unexpected


def pipeline_for(data_cfg, params: dict[str, Any]):
    """The model's own sub-word tokenizer as the run's text pipeline."""
    from ..data.text.pretrained_pipeline import PretrainedPipeline

    folder = resolve_weights(params["weights"])
    return PretrainedPipeline.from_folder(data_cfg, folder, params["max_length"], read_encoder_config(folder),
                                          source=str(params["weights"]))


SETTINGS = {
    "weights": Setting(str), "finetune": Setting(str, choices=FINETUNE), "top_layers": Setting(int, 1, 48),
    "dropout": Setting(float, 0.0, 0.9), "max_length": Setting(int, 8, 512),
}
# fine-tuning wants a small learning rate that warms up and then decays linearly (Devlin et al. 2019),
# little weight decay, and few epochs; the classroom preset trains on 2,000 rows so that a CPU
# finishes in minutes: MiniLM-L6 on 2 cores takes 29 s on SST-2's short phrases (0.822 dev accuracy)
# and 90 s on the built-in reviews (BENCHMARKS.md section 14)
PRESET = {"train": {"lr": 5e-5, "schedule": "warmup_linear", "warmup_fraction": 0.1, "weight_decay": 0.01,
                    "epochs": 2, "batch_size": 32, "early_stopping_patience": None},
          "data": {"max_train_rows": 2000}}


@register_model("text", "Pretrained Transformer",
                msg("engine.models.pretrained_transformer.description",
                    "Pretrained Transformer: an encoder pretrained on huge text corpora (MiniLM-L6 by default), "
                    "fine-tuned here."), settings=SETTINGS, pipeline=pipeline_for, init=load_pretrained, preset=PRESET)
def pretrained_transformer(num_classes: int, encoder: Optional[dict[str, Any]] = None,
                           weights: str = DEFAULT_WEIGHTS, finetune: str = "full", top_layers: int = 2,
                           dropout: float = 0.1, max_length: int = 128) -> nn.Module:
    """`encoder`: the encoder's config (from the run's data, else read from the `weights` folder)."""
    if encoder is None:
        encoder = read_encoder_config(resolve_weights(weights))
    model = PretrainedClassifier(encoder, num_classes, finetune, top_layers, dropout)
    n = len(model.blocks())
    if finetune == "top" and top_layers > n:
        raise ConfigError(msg("errors.pretrained.top_layers",
                              "This encoder has {n} layers, so the top {top} cannot be trained.", n=n, top=top_layers),
                          msg("errors.pretrained.top_layers.hint", "Choose top_layers from 1 to {n}, or finetune=full.",
                              n=n))
    return model
