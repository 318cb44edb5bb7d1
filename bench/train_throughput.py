"""Training throughput: the engine's Trainer vs a plain PyTorch tutorial loop, same BiLSTM, same process.

Both sides train the same network (embedding 100, BiLSTM hidden 128, 1 layer, dropout 0.2, Adam 1e-3,
batch 64) for one epoch over the first N SST-2 training examples, encoded by the engine's TextPipeline
(so the tokenizer is not what is compared), with torch.set_num_threads(THREADS) on both sides.

  plain           what a tutorial writes: shuffled random batches padded to the batch's longest text,
                  nn.LSTM on the padded tensor (no packing), final hidden states -> linear
  engine          bigmodel_core.training.run.prepare + Trainer, model "lstm" with embed_dim=100 hidden=128,
                  bucket_by_length=True (the default)
  engine_nobucket the same with bucket_by_length=False

The engine uses fused Adam and skips packing for batches without padding (both adopted from
prototypes measured here: 1.92x before them).

Variants alternate within each repeat (plain, engine, engine_nobucket, plain, ...); the summary line
gives medians and the ratios engine / plain. One JSON object per line.

    python bench/train_throughput.py [--data DIR] [--n 20000] [--repeats 3] [--threads 1] [--quick]
                                     [--variants plain,engine,engine_nobucket]
"""
from __future__ import annotations

import argparse
import time

import _common  # first: puts the repository on sys.path for bigmodel_core
import numpy as np
import torch
import torch.nn.functional as F
from _common import emit, median
from torch import nn
from torch.nn.utils.rnn import pad_sequence

from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from bigmodel_core.data.text.batching import TextBatches
from bigmodel_core.data.dataset import TextDataset
from bigmodel_core.models import create_model
from bigmodel_core.training.callbacks import History
from bigmodel_core.training.run import prepare
from bigmodel_core.training.trainer import Trainer

BENCH = "train_throughput"
EMBED, HIDDEN, BATCH, LR, DROPOUT = 100, 128, 64, 1e-3, 0.2


class PlainBiLSTM(nn.Module):
    """The tutorial model: LSTM over the padded batch, final hidden state of each direction."""

    def __init__(self, vocab_size: int, num_classes: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, EMBED, padding_idx=0)
        self.lstm = nn.LSTM(EMBED, HIDDEN, num_layers=1, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(DROPOUT)
        self.fc = nn.Linear(2 * HIDDEN, num_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.dropout(self.embedding(ids))  # (batch, seq, emb), padding included
        _, (h, _) = self.lstm(x)  # h: (2, batch, hidden)
        return self.fc(self.dropout(torch.cat([h[-2], h[-1]], dim=1)))


def plain_epoch(encoded: list[np.ndarray], labels: np.ndarray, vocab_size: int, seed: int) -> dict:
    torch.manual_seed(seed)
    model = PlainBiLSTM(vocab_size, int(labels.max()) + 1)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    seqs = [torch.from_numpy(e) for e in encoded]
    y_all = torch.from_numpy(labels)
    model.train()
    t0 = time.perf_counter()
    perm = torch.randperm(len(seqs), generator=torch.Generator().manual_seed(seed))
    loss_sum, real, padded = 0.0, 0, 0
    for i in range(0, len(seqs), BATCH):
        idx = perm[i:i + BATCH]
        ids = pad_sequence([seqs[j] for j in idx], batch_first=True, padding_value=0)
        y = y_all[idx]
        logits = model(ids)
        loss = F.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss_sum += loss.item() * len(idx)
        padded += ids.numel()
        real += int((ids != 0).sum())
    secs = time.perf_counter() - t0
    return {"samples_per_s": len(seqs) / secs, "seconds": secs, "padding_fraction": 1 - real / padded,
            "train_loss": loss_sum / len(seqs)}


def engine_epoch(prep, threads: int, bucket: bool, seed: int) -> dict:
    src = prep.batches["train"]
    # what prepare() builds with bucket_by_length=bucket
    batches = TextBatches(src.encoded, src.labels, BATCH, shuffle=True, bucket=bucket, seed=seed)
    # plain Adam at a constant rate, as the plain loop: no weight decay (the engine refuses its AdamW
    # default of 0.5 with adam) and no schedule
    cfg = TrainConfig(optimizer="adam", lr=LR, weight_decay=0.0, schedule="constant", batch_size=BATCH, epochs=1,
                      num_threads=threads, bucket_by_length=bucket, device="cpu", seed=seed)
    torch.manual_seed(seed)
    model = create_model("lstm", prep.data_info, **prep.model_params)
    history = History()
    t0 = time.perf_counter()
    Trainer(cfg, [history]).fit(model, batches, None)
    wall = time.perf_counter() - t0
    m = history.epochs()[-1]
    batches.set_epoch(1)
    idx = batches.batch_indices()
    uniform = sum(int(batches.lengths[i].min() == batches.lengths[i].max()) for i in idx)
    return {"samples_per_s": m["samples_per_s"], "seconds": m["epoch_seconds"], "fit_seconds": wall,
            "padding_fraction": batches.padding_fraction(), "batches": len(idx), "unpadded_batches": uniform,
            "train_loss": m["train_loss"]}


def load_prepared(data_dir: str, n: int, threads: int):
    texts, labels = _common.read_sst2(data_dir, "train")
    texts, labels = texts[:n], labels[:n]
    ds = TextDataset(texts, labels.astype(np.int64), ["0", "1"], f"csv:{data_dir}/train.tsv")
    empty = np.array([], dtype=np.int64)
    ds.split = {"train": np.arange(len(texts)), "val": empty, "test": empty}
    cfg = RunConfig(data=DataConfig(spec=ds.spec), model=ModelConfig("lstm", {"embed_dim": EMBED, "hidden": HIDDEN}),
                    train=TrainConfig(lr=LR, batch_size=BATCH, epochs=1, num_threads=threads, bucket_by_length=True))
    return prepare(cfg, dataset=ds)


VARIANTS = ("plain", "engine", "engine_nobucket")


def run_variant(name: str, prep, threads: int, seed: int) -> dict:
    if name == "plain":
        src = prep.batches["train"]
        return plain_epoch(src.encoded, src.labels, prep.pipeline.vocab_size, seed)
    return engine_epoch(prep, threads, bucket=name != "engine_nobucket", seed=seed)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=_common.default_data_dir(), help="folder with SST-2 train.tsv/dev.tsv")
    ap.add_argument("--n", type=int, default=20000, help="first N training examples, one epoch each")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads for both sides")
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated subset of " + ",".join(VARIANTS))
    ap.add_argument("--quick", action="store_true", help="N=5000, 2 repeats")
    args = ap.parse_args(argv)
    if args.data is None:
        ap.error("SST-2 not found next to the repo; pass --data DIR")
    if args.quick:
        args.n, args.repeats = 5000, 2
    variants = [v for v in args.variants.split(",") if v]
    bad = set(variants) - set(VARIANTS)
    if bad or "plain" not in variants:
        ap.error(f"variants must include plain and come from {VARIANTS}")
    torch.set_num_threads(args.threads)
    prep = load_prepared(args.data, args.n, args.threads)
    emit(BENCH, kind="setup", n=prep.batches["train"].num_examples, vocab_size=prep.pipeline.vocab_size,
         threads=args.threads, model_params=prep.model_params, variants=variants, **_common.machine())
    runs: dict[str, list[dict]] = {v: [] for v in variants}
    for rep in range(args.repeats):
        for name in variants:  # interleaved, so a noisy minute hits every variant alike
            torch.set_num_threads(args.threads)
            r = run_variant(name, prep, args.threads, seed=rep)
            runs[name].append(r)
            emit(BENCH, kind="run", variant=name, repeat=rep, threads=torch.get_num_threads(), **r)
    med = {k: median([r["samples_per_s"] for r in v]) for k, v in runs.items()}
    pad = {k: median([r["padding_fraction"] for r in v]) for k, v in runs.items()}
    # ratio per repeat (same minute of machine noise), then the median of those
    ratios = {k: median([e["samples_per_s"] / p["samples_per_s"] for e, p in zip(v, runs["plain"])])
              for k, v in runs.items() if k != "plain"}
    engine_ratio = ratios.get("engine")
    return emit(BENCH, kind="summary", n=prep.batches["train"].num_examples, threads=args.threads,
                repeats=args.repeats, samples_per_s=med, padding_fraction=pad, ratio_vs_plain=ratios,
                target=1.5, passed=None if engine_ratio is None else engine_ratio >= 1.5)


if __name__ == "__main__":
    main()
