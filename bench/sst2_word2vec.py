"""SST-2 dev accuracy of the default text model (lstm preset) with and without Word2Vec initialisation.

Per seed: Word2Vec (`train_word2vec`: skip-gram, dim 100, window 5, min_count 2, 10 epochs, negative 5,
1 worker, that seed) on the texts of SST-2 train.tsv only (67,349 phrases; dev.tsv is never seen,
labels are not used), tokenized by the models' own TextPipeline and saved as a vector set in a
temporary BIGMODEL_HOME. Then three runs of `ModelConfig("lstm")` (the preset: hidden 64,
bidirectional, 1 layer) that differ only in the embedding:

    random       params={"embed_dim": DIM}: random init, the same width as the vectors
    w2v_tuned    embeddings=SET_ID (embed_dim follows the vectors), fine-tuned with the model
    w2v_frozen   embeddings=SET_ID, freeze_embeddings=True

Data and training as bench/sst2_accuracy.py: dev.tsv (872 sentences) is the test split, train.tsv
is split 95 % train / 5 % val (stratified, split seed 0 for every seed), the engine's TrainConfig
defaults (Adam, lr 5e-3, batch 64, grad clip 1.0, bucketing) for --epochs epochs, --threads torch
threads, prepare + Trainer with History and BestCheckpoint as train_run does, dev evaluated every
--eval-every steps and at each epoch end (that time excluded from the clock; "seconds to 0.82" is the
training time until the first evaluation at >= 0.82, as there). The same seed gives the three
variants the same non-embedding initial weights and the same batch order.
Prints one JSON line per Word2Vec set, one per run and one summary (means over the seeds).

    python bench/sst2_word2vec.py [--data DIR] [--seeds 0,1] [--epochs 3] [--dim 100] [--w2v-epochs 10]
                                  [--variants random,w2v_tuned,w2v_frozen] [--home DIR] [--quick]
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import _common  # first: puts the repository on sys.path for bigmodel_core
import torch
from _common import emit

BENCH = "sst2_word2vec"
VARIANTS = ("random", "w2v_tuned", "w2v_frozen")
TARGET = 0.82  # as bench/sst2_accuracy.py: training seconds until the first dev evaluation at >= 0.82


def make_dev_eval(test_batches, every: int, label: str):
    from bigmodel_core.training.events import Callback
    from bigmodel_core.training.metrics import predict_batches

    class DevEval(Callback):
        """Dev accuracy every `every` steps and at each epoch end; its own time is excluded from the clock."""

        def __init__(self) -> None:
            self.points: list[dict] = []
            self.excluded = self.start = 0.0

        def on_fit_start(self, trainer, event) -> None:
            self.start = time.perf_counter()

        def _eval(self, trainer, epoch: int, step: int, at: str) -> None:
            t0 = time.perf_counter()
            out = predict_batches(trainer.model, test_batches, trainer.device)
            trainer.model.train()  # predict_batches leaves the model in eval mode
            acc = float((out["probs"].argmax(1) == out["labels"]).mean())
            self.points.append({"epoch": epoch, "step": step, "at": at,
                                "train_seconds": t0 - self.start - self.excluded, "dev_accuracy": acc})
            self.excluded += time.perf_counter() - t0

        def on_batch_end(self, trainer, event) -> None:
            if every and event.step % every == 0:
                self._eval(trainer, event.epoch, event.step, "step")

        def on_epoch_end(self, trainer, event) -> None:
            self._eval(trainer, event.epoch, event.step, "epoch_end")

    return DevEval()


def train_vectors(data_dir: str, args, seed: int) -> dict:
    from bigmodel_core.config import DataConfig
    from bigmodel_core.embeddings.train import train_word2vec

    meta = train_word2vec(DataConfig(spec=f"csv:{data_dir}/train.tsv"), sg=not args.cbow, dim=args.dim,
                          window=args.window, min_count=args.min_count, epochs=args.w2v_epochs, negative=5,
                          seed=seed, workers=1)
    return emit(BENCH, kind="word2vec", seed=seed, id=meta["id"], settings=meta["settings"], texts=meta["texts"],
                words=meta["words"], vocab_size=meta["vocab_size"], seconds=meta["seconds"],
                words_per_s=meta["words_per_s"], losses=meta["losses"])


def dev_token_coverage(prep, set_id: str) -> float:
    """Share of dev-token occurrences that are in the model's vocabulary and have a vector."""
    from bigmodel_core.data.text.pipeline import PAD_ID
    from bigmodel_core.embeddings.vectors import load_vectors

    kv = load_vectors(set_id)
    itos = prep.pipeline.itos
    has = [w in kv.key_to_index or w.lower() in kv.key_to_index for w in itos]
    dev_texts, _ = prep.dataset.part("test")
    ids = [int(i) for row in prep.pipeline.encode(dev_texts) for i in row if i != PAD_ID]
    return sum(has[i] for i in ids) / max(len(ids), 1)


def train_variant(variant: str, ds, args, seed: int, set_id: str | None) -> dict:
    from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from bigmodel_core.training.callbacks import BestCheckpoint, History
    from bigmodel_core.training.metrics import predict_batches
    from bigmodel_core.training.run import prepare
    from bigmodel_core.training.trainer import Trainer

    if variant == "random":
        model = ModelConfig("lstm", {"embed_dim": args.dim})
    else:
        model = ModelConfig("lstm", {}, embeddings=set_id, freeze_embeddings=variant == "w2v_frozen")
    train = TrainConfig(epochs=args.epochs, num_threads=args.threads, seed=seed, **({"lr": args.lr} if args.lr else {}))
    cfg = RunConfig(data=DataConfig(spec=ds.spec), model=model, train=train)
    t_prep = time.perf_counter()
    prep = prepare(cfg, dataset=ds)
    prep_s = time.perf_counter() - t_prep
    history, best = History(), BestCheckpoint(cfg.train.monitor)
    dev = make_dev_eval(prep.batches["test"], args.eval_every, variant)
    trainer = Trainer(cfg.train, [history, best, dev])
    t0 = time.perf_counter()
    fitted = trainer.fit(prep.model, prep.batches["train"], prep.batches["val"])
    fit_s = time.perf_counter() - t0 - dev.excluded
    out = predict_batches(fitted, prep.batches["test"], trainer.device)  # the weights the engine keeps
    kept = float((out["probs"].argmax(1) == out["labels"]).mean())
    epochs = history.epochs()
    best_point = max(dev.points, key=lambda p: p["dev_accuracy"])
    hit = next((p for p in dev.points if p["dev_accuracy"] >= TARGET), None)
    ends = [p["dev_accuracy"] for p in dev.points if p["at"] == "epoch_end"]
    vec = prep.vectors or {}
    cov = vec.get("coverage") or {}
    trainable = sum(p.numel() for p in fitted.parameters() if p.requires_grad)
    return emit(BENCH, kind="run", variant=variant, seed=seed, embeddings=set_id if variant != "random" else None,
                params=prep.model_params, trainable_parameters=trainable, lr=cfg.train.lr, threads=trainer.threads,
                vocab_size=prep.pipeline.vocab_size,
                coverage_fraction=cov.get("fraction"), coverage_found=cov.get("found"), coverage_total=cov.get("total"),
                missing_examples=(cov.get("missing_examples") or [])[:10],
                dev_token_coverage=dev_token_coverage(prep, set_id) if set_id and variant != "random" else None,
                best_dev_accuracy=best_point["dev_accuracy"], best_dev_at=best_point,
                final_dev_accuracy=ends[-1], dev_accuracy_epoch_end=ends,
                seconds_to_target=None if hit is None else hit["train_seconds"], target_at=hit, target=TARGET,
                dev_accuracy_kept_checkpoint=kept, kept_epoch=best.best_epoch,
                val_accuracy=[e.get("val_accuracy") for e in epochs],
                train_loss=[e.get("train_loss") for e in epochs],
                epoch_seconds=[e.get("epoch_seconds") for e in epochs],
                samples_per_s=[e.get("samples_per_s") for e in epochs],
                fit_seconds=fit_s, dev_eval_seconds=dev.excluded, prepare_seconds=prep_s)


def _mean(xs):
    """Mean of the values, None if any is None (a run that never reached the target)."""
    xs = list(xs)
    return None if any(x is None for x in xs) else statistics.mean(xs)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=_common.default_data_dir(), help="folder with SST-2 train.tsv/dev.tsv")
    ap.add_argument("--seeds", default="0,1", help="training and Word2Vec seeds (the train/val split stays seed 0)")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--epochs", type=int, default=3, help="lstm epochs (sst2_accuracy.py: 3)")
    ap.add_argument("--eval-every", type=int, default=100, help="dev evaluation every N steps (0: epoch ends only)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the engine picks 1 on 2 cores)")
    ap.add_argument("--lr", type=float, default=None, help="default: the engine's TrainConfig.lr")
    ap.add_argument("--val-fraction", type=float, default=0.05)
    ap.add_argument("--max-train", type=int, default=None, help="sample this many train.tsv rows for the lstm")
    ap.add_argument("--dim", type=int, default=100, help="Word2Vec width = the lstm's embed_dim in every variant")
    ap.add_argument("--w2v-epochs", type=int, default=10)
    ap.add_argument("--window", type=int, default=5)
    ap.add_argument("--min-count", type=int, default=2)
    ap.add_argument("--cbow", action="store_true", help="CBOW instead of skip-gram")
    ap.add_argument("--home", default=None, help="BIGMODEL_HOME for the vector sets (default: a temporary folder)")
    ap.add_argument("--quick", action="store_true", help="seed 0, 1 lstm epoch on 20,000 rows, 5 Word2Vec epochs")
    args = ap.parse_args(argv)
    if args.data is None:
        ap.error("SST-2 not found next to the repo; pass --data DIR")
    if args.quick:
        args.seeds, args.epochs, args.max_train, args.w2v_epochs = "0", 1, 20_000, 5
    tmp = None
    if args.home is None:
        tmp = tempfile.TemporaryDirectory(prefix="bigmodel-bench-w2v-")
        args.home = tmp.name
    os.environ["BIGMODEL_HOME"] = args.home  # prepare() loads the set from $BIGMODEL_HOME
    from sst2_accuracy import sst2_dataset

    started = time.perf_counter()
    torch.set_num_threads(args.threads)
    ds = sst2_dataset(args.data, args.val_fraction, 0, args.max_train)
    seeds = [int(s) for s in args.seeds.split(",") if s]
    variants = [v for v in args.variants.split(",") if v]
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        ap.error(f"unknown variant(s) {sorted(unknown)}; choose from {VARIANTS}")
    emit(BENCH, kind="setup", split={k: len(v) for k, v in ds.split.items()}, seeds=seeds, variants=variants,
         epochs=args.epochs, dim=args.dim, w2v_epochs=args.w2v_epochs, eval_every=args.eval_every,
         threads=args.threads, home=args.home, **_common.machine())
    w2v, runs = {}, []
    for seed in seeds:
        set_id = None
        if any(v != "random" for v in variants):
            w2v[seed] = train_vectors(args.data, args, seed)
            set_id = w2v[seed]["id"]
        runs += [train_variant(v, ds, args, seed, set_id) for v in variants]
    per_variant = {}
    for v in variants:
        rs = [r for r in runs if r["variant"] == v]
        per_variant[v] = {key: {str(r["seed"]): r[key] for r in rs} | {"mean": _mean(r[key] for r in rs)}
                          for key in ("best_dev_accuracy", "final_dev_accuracy", "dev_accuracy_kept_checkpoint",
                                      "fit_seconds", "seconds_to_target")}
    best = max(per_variant, key=lambda v: per_variant[v]["best_dev_accuracy"]["mean"])
    summary = emit(BENCH, kind="summary", best_variant=best, per_variant=per_variant,
                   word2vec={str(s): {"seconds": m["seconds"], "words_per_s": m["words_per_s"]} for s, m in w2v.items()},
                   coverage=next((r["coverage_fraction"] for r in runs if r["coverage_fraction"] is not None), None),
                   total_seconds=time.perf_counter() - started, passed=None)
    if tmp is not None:
        tmp.cleanup()
    return summary


if __name__ == "__main__":
    main()
