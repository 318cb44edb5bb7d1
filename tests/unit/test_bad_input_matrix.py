"""The bad-input matrix: every way a user can get it wrong, at every entry point, ends in one plain sentence and a
hint (exit code 2 on the CLI), and leaves the workspace exactly as it was.

The pages' uploads and controls have their own matrix in tests/app/test_bad_input_pages.py; the parsers are
fuzzed in test_parser_fuzz.py. README.md's troubleshooting table lists these cases.
"""
from __future__ import annotations

import hashlib
import io
import os
import shutil
import struct
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from bigmodel_core.__main__ import main
from bigmodel_core.errors import BigModelError


def snapshot(folder: Path) -> dict[str, str]:
    """Every file and folder under `folder` with a hash of its content: what 'unchanged' means.

    The run index (index.sqlite) is a cache of the run folders that a first listing may bring up
    to date (a damaged folder it had not seen yet), so it counts by what it lists, not its bytes.
    """
    from bigmodel_core.runs.store import scan_runs

    out = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        if rel.startswith("index.sqlite"):
            continue
        out[rel] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    if (folder / "index.sqlite").exists():
        runs, damaged = scan_runs(folder)
        out["index.sqlite (what it lists)"] = repr(sorted((r.id, r.status) for r in runs)) + repr(
            sorted(d["id"] for d in damaged))
    return out


def _npz_with_huge_header(path: Path) -> None:
    """A small .npz whose array header claims 200000 x 4096 x 4096 uint8 (3 TB)."""
    header = "{'descr': '|u1', 'fortran_order': False, 'shape': (200000, 4096, 4096), }"
    header = header + " " * (63 - (len(header) + 10) % 64) + "\n"
    npy = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1") + b"\x00" * 1024
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("images.npy", npy)
        buf = io.BytesIO()
        np.save(buf, np.zeros(200000, dtype=np.int64))
        zf.writestr("labels.npy", buf.getvalue())


FILES: dict[str, Callable[[Path], None]] = {
    "empty.csv": lambda p: p.write_bytes(b""),
    "binary.csv": lambda p: p.write_bytes(b"\x00\x01\x02PK\x03\x04" * 100),
    "latin1.csv": lambda p: p.write_bytes("text,label\ncaf\xe9 cr\xe8me,pos\nbad,neg\n".encode("latin-1")),
    "onecol.csv": lambda p: p.write_text("text\n" + "a long enough sentence here\n" * 30),
    "oneclass.csv": lambda p: p.write_text("text,label\n" + "a nice long sentence,pos\n" * 30),
    "ragged.tsv": lambda p: p.write_text("text\tlabel\na good film\tpos\nbad\tneg\textra\tcols\n"),
    "broken.jsonl": lambda p: p.write_text('{"text": "a good film", "label": "pos"}\n{"text": "bad", \n'),
    "numbers.csv": lambda p: p.write_text("a,b\n" + "1,2\n" * 30),
    "huge.npz": _npz_with_huge_header,
    "not-really.npz": lambda p: p.write_bytes(b"this is not a zip file at all"),
    "pickle.npz": lambda p: np.savez(p, images=np.array([object()], dtype=object), labels=np.zeros(1)),
    "picture.png": lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\nnot really a png"),
    "vectors.txt": lambda p: p.write_text("this is not\na vectors file\n"),
}


@pytest.fixture(scope="module")
def module_home(tmp_path_factory, review_texts) -> Path:
    """A workspace with one text run and one image run, plus the bad files the cases point at."""
    from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from bigmodel_core.training.run import train_run

    home = tmp_path_factory.mktemp("matrix_home")
    train_run(RunConfig(DataConfig(max_rows=400), ModelConfig("bag_of_embeddings", {"embed_dim": 8, "hidden": 8}),
                        TrainConfig(epochs=1, batch_size=32), name="text-run"), home=home)
    train_run(RunConfig(DataConfig(spec="builtin:digits", max_rows=200), ModelConfig("mlp", {"hidden": [16]}),
                        TrainConfig(epochs=1, batch_size=32), name="image-run"), home=home)
    damaged = home / "runs" / "damaged-run"
    damaged.mkdir()
    (damaged / "run.json").write_bytes(b"\xff\xfe not json")
    files = tmp_path_factory.mktemp("bad_files")
    for name, make in FILES.items():
        make(files / name)
    (home / "files").symlink_to(files, target_is_directory=True)
    return home


@pytest.fixture
def home(module_home, tmp_path, monkeypatch) -> Path:
    """A private copy of the module's workspace (cases must not see each other's leftovers)."""
    copy = tmp_path / "home"
    shutil.copytree(module_home, copy, symlinks=True)
    monkeypatch.setenv("BIGMODEL_HOME", str(copy))
    monkeypatch.chdir(tmp_path)
    return copy


TRAIN = ["train", "--data", "builtin:synthetic_reviews", "--model", "bag_of_embeddings", "--dry-run"]
CLI_CASES = {
    # run names and ids
    "run name climbing out": (TRAIN + ["--name", "../../../victim"], "run name"),
    "run name with a slash": (TRAIN + ["--name", "a/b"], "run name"),
    "hidden run name": (TRAIN + ["--name", ".hidden"], "run name"),
    "run id climbing out": (["predict", "--run", "../../etc", "--text", "hi"], "run name"),
    "run that does not exist": (["predict", "--run", "no-such-run", "--text", "hi"], "does not exist"),
    "damaged run": (["predict", "--run", "damaged-run", "--text", "hi"], "damaged"),
    # settings
    "learning rate nan": (TRAIN + ["--set", "lr=nan"], "learning rate"),
    "negative learning rate": (TRAIN + ["--set", "lr=-1"], "learning rate"),
    "absurd learning rate": (TRAIN + ["--set", "lr=1e9"], "at most 10"),
    "hidden size zero": (["train", "--data", "builtin:synthetic_reviews", "--model", "lstm", "--set", "hidden=0"], "hidden"),
    "negative hidden size": (TRAIN + ["--set", "hidden=-3"], "hidden"),
    "negative max rows": (TRAIN + ["--set", "max_rows=-1"], "max_rows"),
    "batch size zero": (TRAIN + ["--set", "batch_size=0"], "batch_size"),
    "zero epochs": (TRAIN[:-1] + ["--epochs", "0"], "epochs"),
    "ten thousand layers": (["train", "--data", "builtin:synthetic_reviews", "--model", "lstm", "--set", "layers=10000"],
                            "layers"),
    "setting without a value": (TRAIN + ["--set", "lr"], "key=value"),
    "unknown setting": (TRAIN + ["--set", "hiden=3"], "hidden"),
    "mistyped optimizer": (TRAIN + ["--set", "optimizer=adma"], "adam"),
    "fractions adding up to all": (TRAIN + ["--set", "val_fraction=0.6"], "val_fraction"),
    "not a number": (TRAIN + ["--set", "embed_dim=big"], "embed_dim"),
    "mistyped schedule": (TRAIN + ["--set", "schedule=cosine"], "warmup_cosine"),
    "warm-up longer than half the run": (TRAIN + ["--set", "warmup_fraction=0.9"], "warmup_fraction"),
    "Adam with AdamW's strong weight decay": (TRAIN + ["--set", "optimizer=adam"], "adamw"),
    "model too big for the cap": (TRAIN + ["--set", "embed_dim=2048", "--set", "bigram_buckets=5000000"], "parameters"),
    # models and devices
    "unknown model": (["train", "--data", "builtin:synthetic_reviews", "--model", "lstn"], "lstm"),
    "image model on text": (["train", "--data", "builtin:synthetic_reviews", "--model", "convnet", "--dry-run"], "text"),
    "text model on images": (["train", "--data", "builtin:digits", "--model", "lstm", "--dry-run"], "image"),
    "GPU that is not there": (TRAIN + ["--device", "cuda:7"], "GPU"),
    "device that does not exist": (TRAIN + ["--device", "tpu"], "device"),
    "word vectors that do not exist": (TRAIN + ["--set", "embeddings=no-such-vectors"], "no-such-vectors"),
    # data specs and files
    "spec without a kind": (["train", "--data", "reviews.csv", "--model", "lstm"], "SPEC"),
    "unknown kind of spec": (["train", "--data", "xls:a.xls", "--model", "lstm"], "kind of dataset"),
    "unknown built-in set": (["train", "--data", "builtin:imdb", "--model", "lstm"], "built-in"),
    "unknown download": (["train", "--data", "download:wikipedia", "--model", "lstm"], "wikipedia"),
    "missing file": (["train", "--data", "csv:/no/such/file.csv", "--model", "lstm"], "does not exist"),
    "empty file": (["train", "--data", "csv:{files}/empty.csv", "--model", "lstm"], "empty"),
    "binary file as csv": (["train", "--data", "csv:{files}/binary.csv", "--model", "lstm"], "binary"),
    "file not in UTF-8": (["train", "--data", "csv:{files}/latin1.csv", "--model", "lstm"], "UTF-8"),
    "no label column": (["train", "--data", "csv:{files}/onecol.csv", "--model", "lstm"], "label"),
    "a single class": (["train", "--data", "csv:{files}/oneclass.csv", "--model", "lstm"], "same label"),
    "rows of different lengths": (["train", "--data", "csv:{files}/ragged.tsv", "--model", "lstm"], "ragged.tsv"),
    "broken JSON line": (["train", "--data", "csv:{files}/broken.jsonl", "--model", "lstm"], "line 2"),
    "no text column": (["train", "--data", "csv:{files}/numbers.csv", "--model", "lstm"], "text"),
    "column that does not exist": (["train", "--data", "csv:{files}/oneclass.csv#text=body,label=label", "--model", "lstm"],
                                   "body"),
    "npz claiming terabytes": (["train", "--data", "npz:{files}/huge.npz", "--model", "mlp"], "huge.npz"),
    "npz that is no zip": (["train", "--data", "npz:{files}/not-really.npz", "--model", "mlp"], "not-really.npz"),
    "npz holding pickled objects": (["train", "--data", "npz:{files}/pickle.npz", "--model", "mlp"], "pickle.npz"),
    "missing image folder": (["train", "--data", "folder:/no/such/folder", "--model", "mlp"], "folder"),
    # predict, explain, eval
    "empty sentence": (["predict", "--run", "text-run", "--text", "   "], "empty"),
    "picture for a text model": (["predict", "--run", "text-run", "--image", "{files}/picture.png"], "text model"),
    "text for an image model": (["predict", "--run", "image-run", "--text", "hello"], "image model"),
    "broken picture": (["predict", "--run", "image-run", "--image", "{files}/picture.png"], "picture.png"),
    "zero LIME samples": (["explain", "--run", "text-run", "--text", "a good film", "--samples", "0"], "samples"),
    "ten million LIME samples": (["explain", "--run", "text-run", "--text", "good", "--samples", "10000000"], "samples"),
    "class the model does not have": (["explain", "--run", "text-run", "--text", "good", "--label", "maybe"], "maybe"),
    "image method on text": (["explain", "--run", "text-run", "--text", "good", "--method", "saliency"], "saliency"),
    "evaluating text on images": (["eval", "--run", "text-run", "--data", "builtin:digits"], "image"),
    # the run store, resume and sweeps
    "showing a run that does not exist": (["runs", "show", "no-such-run"], "does not exist"),
    "deleting a run outside the workspace": (["runs", "delete", "../../etc"], "run name"),
    "importing a file that is not there": (["runs", "import", "{files}/no-such.zip"], "no-such.zip"),
    "importing a file that is no zip": (["runs", "import", "{files}/picture.png"], "not a readable .zip"),
    "a run name of 101 characters": (["runs", "rename", "text-run", "x" * 101], "at most 100 characters"),
    "a tag of 41 characters": (["runs", "tag", "text-run", "--add", "t" * 41], "too long"),
    "resuming a finished run": (["train", "--resume", "text-run"], "already finished"),
    "resuming with other data": (["train", "--resume", "text-run", "--data", "builtin:digits"], "keeps its own data"),
    "resuming a run that does not exist": (["train", "--resume", "no-such-run"], "does not exist"),
    "a sweep of two points": (["sweep", "--model", "lstm", "--axis", "width", "--sizes", "tiny,small",
                               "--data", "builtin:synthetic_reviews"], "3 to 8 points"),
    "a sweep size that does not exist": (["sweep", "--model", "lstm", "--axis", "width", "--sizes", "tiny,small,huge",
                                          "--data", "builtin:synthetic_reviews"], "huge"),
    "a sweep over more than all the data": (["sweep", "--model", "lstm", "--axis", "data", "--sizes", "0.5,1,1.5",
                                             "--data", "builtin:synthetic_reviews"], "between 0 and 1"),
    "a depth sweep of a model without layers": (["sweep", "--model", "textcnn", "--axis", "depth", "--sizes",
                                                 "tiny,small,medium", "--data", "builtin:synthetic_reviews"], "no depth"),
    "a sweep budget in epochs and seconds": (["sweep", "--model", "lstm", "--axis", "width", "--sizes", "nano,tiny,small",
                                              "--data", "builtin:synthetic_reviews", "--epochs", "2", "--seconds", "9"],
                                             "not both"),
    # the pretrained Transformer
    "pretrained weights from a folder that does not exist": (
        TRAIN[:4] + ["pretrained_transformer", "--dry-run", "--set", "weights=./no/such/model"], "no folder"),
    "a Hub model that was never downloaded": (
        TRAIN[:4] + ["pretrained_transformer", "--dry-run", "--set", "weights=sentence-transformers/all-MiniLM-L6-v2"],
        "not on this computer yet"),
    "a fine-tuning mode that does not exist": (
        TRAIN[:4] + ["pretrained_transformer", "--dry-run", "--set", "finetune=partial"], "partial"),
    "checking a folder that is not a pretrained model": (["pretrained", "check", "{files}"], "config.json"),
    "downloading a model id that climbs out": (["pretrained", "download", "../../etc/passwd"], "model id"),
    "fp16 on a CPU": (TRAIN + ["--set", "precision=fp16", "--device", "cpu"], "fp16 needs a GPU"),
    "gradient accumulation of zero": (TRAIN + ["--set", "grad_accumulation=0"], "grad_accumulation"),
    # making models small
    "optimize without saying how": (["optimize", "--run", "text-run"], "say what to do"),
    "pruning more than all the weights": (["optimize", "--run", "text-run", "--prune", "1.5"], "sparsity"),
    "quantizing to a width that is not offered": (["optimize", "--run", "text-run", "--quantize", "int4"], "int4"),
    "optimizing a run that does not exist": (["optimize", "--run", "no-such-run", "--prune", "0.5"], "no-such-run"),
    "distilling at an absurd temperature": (["optimize", "--run", "text-run", "--distil", "--temperature", "100"],
                                            "temperature"),
    "a text student for a picture teacher": (["optimize", "--run", "image-run", "--distil", "--student", "lstm"],
                                             "lstm model is for texts"),
    "student settings without distilling": (["optimize", "--run", "text-run", "--prune", "0.5", "--set", "hidden=8"],
                                            "--distil"),
    # distributed training, compile, export and serving
    "zero training processes": (TRAIN + ["--processes", "0"], "processes cannot be 0"),
    "a compile switch that is neither on nor off": (TRAIN + ["--set", "compile=maybe"], "compile cannot be 'maybe'"),
    "exporting a run that does not exist": (["export", "--run", "no-such-run", "--format", "onnx"], "no-such-run"),
    "serving on a port that is no port": (["serve", "--run", "text-run", "--port", "0"], "not a port number"),
    "serving a run that does not exist": (["serve", "--run", "no-such-run", "--port", "8765"], "no-such-run"),
    # word vectors
    "vectors that do not exist": (["embed", "neighbours", "--vectors", "nope", "--word", "good"], "nope"),
    "file that is no vectors file": (["embed", "import", "--file", "{files}/vectors.txt"], "vectors.txt"),
    "unknown Word2Vec setting": (["embed", "train", "--data", "builtin:synthetic_reviews", "--set", "bogus=1"], "bogus"),
}


def _argv(argv: list[str], home: Path) -> list[str]:
    return [a.replace("{files}", str(home / "files")) for a in argv]


@pytest.mark.parametrize("case", CLI_CASES)
def test_bad_input_on_the_cli_is_a_plain_error_that_changes_nothing(home, capsys, monkeypatch, case):
    monkeypatch.setenv("BIGMODEL_MAX_PARAMS", "50000000")
    argv, words = CLI_CASES[case]
    before = snapshot(home)
    code = main(_argv(argv, home))
    out, err = capsys.readouterr()
    assert code == 2, (case, out, err)
    lines = err.strip().splitlines()
    assert lines[0].startswith("Error: ") and lines[1].startswith("Hint: ") and len(lines) == 2, err
    assert words.lower() in err.lower(), err
    assert snapshot(home) == before


API_CASES: dict[str, Callable[[], object]] = {}


def api_case(fn: Callable[[], object]) -> Callable[[], object]:
    API_CASES[fn.__name__.replace("_", " ")] = fn
    return fn


@api_case
def run_config_that_is_a_list():
    from bigmodel_core.config import RunConfig
    return RunConfig.from_json("[]")


@api_case
def train_config_with_infinite_weight_decay():
    from bigmodel_core.config import TrainConfig
    return TrainConfig(weight_decay=float("inf"))


@api_case
def data_config_with_two_channels():
    from bigmodel_core.config import DataConfig
    return DataConfig(channels=2)


@api_case
def model_settings_that_are_not_a_table():
    from bigmodel_core.config import ModelConfig
    return ModelConfig("lstm", params=[1, 2])


@api_case
def explaining_an_empty_text():
    from bigmodel_core.explain.lime_text import explain_text
    from bigmodel_core.serve.bundle import load_bundle
    return explain_text(load_bundle("text-run"), "")


@api_case
def predicting_only_markup():
    from bigmodel_core.serve.bundle import load_bundle
    return load_bundle("text-run").predict("<br /><br />")


@api_case
def image_of_the_wrong_size():
    from bigmodel_core.serve.bundle import load_bundle
    return load_bundle("image-run").predict_proba([np.zeros((3, 3, 1), dtype=np.uint8)])


@api_case
def deleting_a_run_outside_the_workspace():
    from bigmodel_core.runs.store import delete_run
    return delete_run("..")


@api_case
def reading_a_zip_as_a_table():
    from bigmodel_core.data.text.tables import read_table
    return read_table(os.environ["BIGMODEL_HOME"] + "/files/not-really.npz")


@api_case
def a_dataset_with_too_few_rows():
    from bigmodel_core.config import DataConfig
    from bigmodel_core.data.dataset import load_dataset
    return load_dataset(DataConfig(max_rows=2))


@pytest.mark.parametrize("case", API_CASES)
def test_bad_input_through_the_python_api_is_a_bigmodel_error_that_changes_nothing(home, case):
    before = snapshot(home)
    with pytest.raises(BigModelError) as err:
        API_CASES[case]()
    assert err.value.message.rstrip().endswith((".", ")", "?")) and err.value.hint
    assert snapshot(home) == before


def test_the_matrix_covers_at_least_forty_distinct_cases():
    assert len(CLI_CASES) + len(API_CASES) >= 40
