"""Gradient accumulation and mixed precision: what a big model needs to train on a small machine."""
from __future__ import annotations

import pytest
import torch

from bigmodel_core.config import DataConfig, TrainConfig
from bigmodel_core.data.text.batching import TextBatches
from bigmodel_core.data.text.pipeline import TextPipeline
from bigmodel_core.errors import ConfigError
from bigmodel_core.models import create_model
from bigmodel_core.training.trainer import Trainer


def batches(review_texts, batch_size: int) -> tuple[TextBatches, int]:
    texts, labels = review_texts(96)
    pipe = TextPipeline(DataConfig()).fit(texts)
    y = [0 if label == "negative" else 1 for label in labels]
    return TextBatches(pipe.encode(texts), y, batch_size, shuffle=True, bucket=False, seed=0), pipe.vocab_size


def trained(review_texts, batch_size: int, **train) -> dict[str, torch.Tensor]:
    data, vocab = batches(review_texts, batch_size)
    torch.manual_seed(0)
    model = create_model("bag_of_embeddings", {"vocab_size": vocab, "num_classes": 2}, embed_dim=16, hidden=16,
                         dropout=0.0)
    cfg = TrainConfig(epochs=2, batch_size=batch_size, lr=1e-2, schedule="constant", device="cpu", **train)
    Trainer(cfg).fit(model, data)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_two_accumulated_batches_of_8_train_like_one_batch_of_16(review_texts):
    one = trained(review_texts, 16)
    accumulated = trained(review_texts, 8, grad_accumulation=2)
    separate = trained(review_texts, 8)
    gap = max(float((one[k] - accumulated[k]).abs().max()) for k in one)
    assert gap < 1e-5
    assert max(float((one[k] - separate[k]).abs().max()) for k in one) > 1e-3  # the check can tell them apart


def test_bf16_autocast_trains_on_a_cpu(review_texts):
    weights = trained(review_texts, 16, precision="bf16")
    assert all(torch.isfinite(v).all() and v.dtype == torch.float32 for v in weights.values())  # weights stay fp32


def test_fp16_on_a_cpu_is_refused_with_a_plain_reason(review_texts):
    with pytest.raises(ConfigError, match="fp16 needs a GPU") as err:
        trained(review_texts, 16, precision="fp16")
    assert "fp32" in err.value.hint


def test_an_unknown_precision_is_refused_before_training():
    with pytest.raises(ConfigError, match="precision"):
        TrainConfig(precision="fp8")


def test_a_compiled_training_step_trains_like_the_plain_one(review_texts, monkeypatch):
    monkeypatch.setenv("BIGMODEL_COMPILE_BACKEND", "aot_eager")  # dynamo's tracing without a C++ build: seconds
    plain = trained(review_texts, 16)
    compiled = trained(review_texts, 16, compile=True)
    assert max(float((plain[k] - compiled[k]).abs().max()) for k in plain) < 1e-5
    assert set(plain) == set(compiled)  # the weights keep their names: checkpoints and bundles are unchanged


def test_compile_without_a_cpp_compiler_is_refused_with_the_reason(review_texts, monkeypatch):
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ConfigError, match="C\\+\\+ compiler") as err:
        trained(review_texts, 16, compile=True)
    assert "compile=false" in err.value.hint
