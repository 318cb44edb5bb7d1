"""The CLI's word-vector commands: `embed train | neighbours | analogy | list | import`."""
from __future__ import annotations

import argparse

from .__main__ import _print, _settings, _typed
from .errors import ConfigError, did_you_mean


def cmd_embed_train(args) -> None:
    from .config import DataConfig, from_dict
    from .embeddings.train import train_word2vec

    settings = _settings(args.set)
    fields = set(DataConfig.__dataclass_fields__) - {"spec"}
    for key in settings:
        if key not in fields:
            raise ConfigError(f"'{key}' is not a text setting.", did_you_mean(key, fields))
    data = from_dict(DataConfig, {"spec": args.data, **{k: _typed(DataConfig, k, v) for k, v in settings.items()}})

    def progress(ev: dict) -> None:
        if ev["kind"] == "epoch_end":
            _print(args, {"event": "epoch_end", **{k: v for k, v in ev.items() if k != "kind"}},
                   f"epoch {ev['epoch']}/{ev['epochs']}  loss {ev['loss']:.1f}  {ev['words_per_s']:,.0f} words/s")
        elif ev["kind"] == "fit_start":
            _print(args, {"event": "fit_start", **{k: v for k, v in ev.items() if k != "kind"}},
                   f"Word2Vec ({'skip-gram' if ev['sg'] else 'CBOW'}, {ev['dim']} dimensions) on {ev['texts']:,} texts, "
                   f"{ev['words']:,} words, {ev['vocab_size']:,} in the vocabulary")

    meta = train_word2vec(data, sg=args.method == "skipgram", dim=args.dim, window=args.window,
                          min_count=args.min_count, epochs=args.epochs, negative=args.negative, seed=args.seed,
                          workers=args.workers, progress=progress)
    _print(args, {"event": "saved", "id": meta["id"], "path": meta["path"], "vocab_size": meta["vocab_size"],
                  "dim": meta["dim"], "stopped": meta.get("stopped", False)},
           f"Saved vectors {meta['id']} ({meta['vocab_size']:,} words x {meta['dim']}); "
           f"use them with --vectors {meta['id']} or --set embeddings={meta['id']}")


def cmd_embed_neighbours(args) -> None:
    from .embeddings.queries import neighbours
    from .embeddings.vectors import load_vectors

    kv = load_vectors(args.vectors, limit=args.limit)
    for word in args.word:
        near = neighbours(kv, word, k=args.k)
        _print(args, {"event": "neighbours", "word": word, "neighbours": [{"word": w, "similarity": s} for w, s in near]},
               f"{word}: " + ", ".join(f"{w} {s:.3f}" for w, s in near))


def cmd_embed_analogy(args) -> None:
    from .embeddings.queries import analogy
    from .embeddings.vectors import load_vectors

    kv = load_vectors(args.vectors, limit=args.limit)
    out = analogy(kv, args.a, args.b, args.c, k=args.k)
    _print(args, {"event": "analogy", "a": args.a, "b": args.b, "c": args.c,
                  "answers": [{"word": w, "similarity": s} for w, s in out]},
           f"{args.a} - {args.b} + {args.c} = " + ", ".join(f"{w} {s:.3f}" for w, s in out))


def cmd_embed_list(args) -> None:
    from .embeddings.sets import list_vector_sets

    for m in list_vector_sets():
        _print(args, {k: v for k, v in m.items() if k != "losses"},
               f"{m['id']:40} {m.get('vocab_size', 0):>8,} words x {m.get('dim', 0):<4} {m.get('source', '')}")


def cmd_embed_import(args) -> None:
    from .embeddings.vectors import import_vectors

    meta = import_vectors(args.file, title=args.title, limit=args.limit)
    _print(args, {"event": "saved", "id": meta["id"], "path": meta["path"], "vocab_size": meta["vocab_size"], "dim": meta["dim"]},
           f"Saved vectors {meta['id']} ({meta['vocab_size']:,} words x {meta['dim']})")


def add_parsers(sub) -> list[argparse.ArgumentParser]:
    """The `embed` command's subcommands (returned so that they get --json too)."""
    parsers = []
    e = sub.add_parser("embed", help="word vectors: train Word2Vec, import GloVe/word2vec, neighbours, analogies")
    esub = e.add_subparsers(dest="embed_command", required=True)
    s = esub.add_parser("train", help="train Word2Vec on a dataset's texts and save the vectors")
    s.add_argument("--data", required=True, help="builtin:NAME, download:NAME, csv:PATH[#text=COL,label=COL]")
    s.add_argument("--method", choices=["skipgram", "cbow"], default="skipgram")
    s.add_argument("--dim", type=int, default=100)
    s.add_argument("--window", type=int, default=5)
    s.add_argument("--min-count", type=int, default=2)
    s.add_argument("--epochs", type=int, default=10)
    s.add_argument("--negative", type=int, default=5)
    s.add_argument("--workers", type=int, default=1, help="1 gives the same vectors for the same seed")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--set", action="append", metavar="KEY=VALUE", help="text setting (tokenizer, lowercase, ...)")
    s.set_defaults(fn=cmd_embed_train)
    parsers.append(s)
    for name, fn in (("neighbours", cmd_embed_neighbours), ("analogy", cmd_embed_analogy)):
        s = esub.add_parser(name, help="nearest words" if name == "neighbours" else "a - b + c")
        s.add_argument("--vectors", required=True, help="a saved vector set id, or a GloVe / word2vec file")
        s.add_argument("--limit", type=int, help="read only the first N words of a file (the most frequent)")
        s.add_argument("--k", type=int, default=10 if name == "neighbours" else 5)
        if name == "neighbours":
            s.add_argument("--word", required=True, action="append", help="repeat for several words")
        else:
            for arg in ("--a", "--b", "--c"):
                s.add_argument(arg, required=True)
        s.set_defaults(fn=fn)
        parsers.append(s)
    s = esub.add_parser("list", help="list the saved vector sets")
    s.set_defaults(fn=cmd_embed_list)
    parsers.append(s)
    s = esub.add_parser("import", help="save a GloVe / word2vec file as a set (later loads are instant)")
    s.add_argument("--file", required=True)
    s.add_argument("--title")
    s.add_argument("--limit", type=int)
    s.set_defaults(fn=cmd_embed_import)
    parsers.append(s)
    return parsers
