"""The CLI (python -m bigmodel_core): JSON lines for every command, plain errors with exit codes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bigmodel_core.__main__ import main
from bigmodel_core.training import callbacks  # noqa: F401  (imported before any test redirects stdout)
from bigmodel_core.models import list_models

ROOT = Path(__file__).resolve().parents[2]


def json_lines(text: str) -> list[dict]:
    lines = [line for line in text.splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # fails if any printed line is not JSON


@pytest.fixture(scope="module")
def cli_home(tmp_path_factory, review_texts):
    """A workspace with one run trained by a real `python -m bigmodel_core train` process."""
    home = tmp_path_factory.mktemp("cli_home")
    texts, labels = review_texts(160)
    data = home / "reviews.csv"
    pd.DataFrame({"text": texts, "label": labels}).to_csv(data, index=False)
    held_out = home / "held_out.csv"
    texts, labels = review_texts(60, seed=9)
    pd.DataFrame({"text": texts, "label": labels}).to_csv(held_out, index=False)
    env = {**os.environ, "BIGMODEL_HOME": str(home), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "bigmodel_core", "train", "--data", f"csv:{data}", "--model", "bag_of_embeddings",
         "--set", "embed_dim=16", "--set", "hidden=16", "--set", "batch_size=16", "--set", "lr=0.02",
         "--set", "schedule=constant", "--set", "weight_decay=0", "--set", "dropout=0.2",
         "--epochs", "3", "--name", "cli-run", "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    return {"home": home, "data": data, "held_out": held_out, "proc": proc}


@pytest.fixture
def in_cli_home(cli_home, monkeypatch):
    monkeypatch.setenv("BIGMODEL_HOME", str(cli_home["home"]))
    return cli_home


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- listing ------------------------------------------------------------------------------------
def test_datasets_json_lists_the_builtin_reviews(capsys):
    code, out, _ = run_cli(capsys, "datasets", "--json")
    assert code == 0
    rows = json_lines(out)
    assert "builtin:synthetic_reviews" in [r["spec"] for r in rows]
    assert all(r["title"] for r in rows)


def test_models_json_lists_every_text_model_with_its_preset(capsys):
    code, out, _ = run_cli(capsys, "models", "--task", "text", "--json")
    assert code == 0
    rows = json_lines(out)
    assert [r["name"] for r in rows] == list_models(task="text")
    assert all(r["task"] == "text" and isinstance(r["defaults"], dict) for r in rows)
    assert next(r for r in rows if r["name"] == "lstm")["defaults"]["hidden"] > 0


def test_models_without_json_prints_readable_lines(capsys):
    code, out, _ = run_cli(capsys, "models")
    assert code == 0 and "transformer" in out and not out.lstrip().startswith("{")


# --- train, eval, predict, explain --------------------------------------------------------------
def test_train_prints_json_lines_ending_with_fit_end(cli_home):
    proc = cli_home["proc"]
    assert proc.returncode == 0, proc.stderr
    rows = json_lines(proc.stdout)
    assert rows[0]["event"] == "fit_start"
    assert [r["epoch"] for r in rows if r["event"] == "epoch_end"] == [1, 2, 3]
    last = rows[-1]
    assert last["event"] == "fit_end" and last["run"] == "cli-run"
    for key in ("val_accuracy", "test_accuracy", "test_macro_f1"):
        assert 0 <= last["metrics"][key] <= 1
    assert last["metrics"]["val_accuracy"] >= 0.8  # the tiny task is learnable in 3 epochs
    assert (cli_home["home"] / "runs" / "cli-run" / "weights.safetensors").exists()


def test_train_settings_reach_data_model_and_trainer(cli_home):
    info = json.loads((cli_home["home"] / "runs" / "cli-run" / "run.json").read_text())
    assert info["model_params"]["embed_dim"] == 16 and info["model_params"]["hidden"] == 16
    assert info["config"]["train"]["batch_size"] == 16 and info["config"]["train"]["lr"] == 0.02
    assert info["config"]["train"]["epochs"] == 3


def test_train_progress_follows_redirected_stdout(capsys, tmp_path, review_texts):
    # Python users capture output with contextlib.redirect_stdout / capsys; every line must go there.
    texts, labels = review_texts(64)
    data = tmp_path / "r.csv"
    pd.DataFrame({"text": texts, "label": labels}).to_csv(data, index=False)
    code, out, _ = run_cli(capsys, "train", "--data", f"csv:{data}", "--model", "bag_of_embeddings",
                           "--set", "embed_dim=8", "--epochs", "1", "--json")
    assert code == 0
    events = [r["event"] for r in json_lines(out)]
    assert events[0] == "fit_start" and "epoch_end" in events and events[-1] == "fit_end"


def test_dry_run_trains_two_batches(capsys, tmp_path, review_texts):
    texts, labels = review_texts(200)
    data = tmp_path / "r.csv"
    pd.DataFrame({"text": texts, "label": labels}).to_csv(data, index=False)
    code, out, _ = run_cli(capsys, "train", "--data", f"csv:{data}", "--model", "textcnn", "--dry-run",
                           "--set", "filters=4", "--epochs", "9", "--name", "dry", "--json")
    assert code == 0
    history = [json.loads(line) for line in (Path(os.environ["BIGMODEL_HOME"]) / "runs" / "dry" / "history.jsonl")
               .read_text().splitlines()]
    assert sum(r["kind"] == "batch_end" for r in history) == 2


def test_eval_prints_accuracy_and_macro_f1(in_cli_home, capsys):
    code, out, _ = run_cli(capsys, "eval", "--run", "cli-run", "--data", f"csv:{in_cli_home['held_out']}", "--json")
    assert code == 0
    (row,) = json_lines(out)
    assert row["event"] == "eval" and row["run"] == "cli-run"
    assert 0 <= row["metrics"]["macro_f1"] <= 1 and row["metrics"]["accuracy"] >= 0.6
    assert row["metrics"]["rows"] == 60


def test_predict_prints_prediction_and_probabilities(in_cli_home, capsys):
    code, out, _ = run_cli(capsys, "predict", "--run", "cli-run", "--text", "a superb and charming film",
                           "--text", "dull and tedious plot zzyzx", "--json")
    assert code == 0
    first, second = json_lines(out)
    for row in (first, second):
        assert row["event"] == "predict"
        assert set(row["probabilities"]) == {"negative", "positive"}
        assert sum(row["probabilities"].values()) == pytest.approx(1, abs=1e-5)
    assert first["prediction"] == "positive" and second["prediction"] == "negative"
    assert second["unknown_words"] == ["zzyzx"]


def test_predict_without_json_prints_the_label(in_cli_home, capsys):
    code, out, _ = run_cli(capsys, "predict", "--run", "cli-run", "--text", "a superb film")
    assert code == 0 and out.startswith("positive")


def test_explain_adds_word_weights(in_cli_home, capsys):
    code, out, _ = run_cli(capsys, "explain", "--run", "cli-run", "--text", "the plot was superb",
                           "--samples", "200", "--seed", "1", "--json")
    assert code == 0
    (row,) = json_lines(out)
    assert row["prediction"] == "positive" and row["explained"] == "positive"
    assert [w["token"] for w in row["weights"]] == ["the", "plot", "was", "superb"]
    top = max(row["weights"], key=lambda w: abs(w["weight"]))
    assert top["token"] == "superb" and top["weight"] > 0
    assert set(row["probabilities"]) == {"negative", "positive"}


def test_explain_same_seed_prints_the_same_weights(in_cli_home, capsys):
    args = ("explain", "--run", "cli-run", "--text", "dull film", "--samples", "100", "--seed", "3", "--json")
    _, first, _ = run_cli(capsys, *args)
    _, second, _ = run_cli(capsys, *args)
    assert json_lines(first) == json_lines(second)


# --- errors -------------------------------------------------------------------------------------
def assert_plain_error(code: int, out: str, err: str, *words: str, exit_code: int = 2) -> None:
    assert code == exit_code
    lines = err.strip().splitlines()
    assert lines[0].startswith("Error: ") and lines[1].startswith("Hint: "), err
    assert "Traceback" not in err
    for word in words:
        assert word in err


def test_unknown_model_is_a_plain_error_with_exit_code_2(in_cli_home, capsys):
    code, out, err = run_cli(capsys, "train", "--data", f"csv:{in_cli_home['data']}", "--model", "lstn", "--json")
    assert_plain_error(code, out, err, "lstn", "lstm")
    assert not (in_cli_home["home"] / "runs" / ".tmp-lstn").exists()


def test_missing_run_is_a_plain_error_with_exit_code_2(in_cli_home, capsys):
    for command in (["predict", "--text", "hi"], ["explain", "--text", "hi"], ["eval", "--data", "builtin:synthetic_reviews"]):
        code, out, err = run_cli(capsys, command[0], "--run", "no-such-run", *command[1:])
        assert_plain_error(code, out, err, "no-such-run")
        assert out == ""


def test_bad_set_key_is_a_plain_error_with_a_suggestion(in_cli_home, capsys):
    code, out, err = run_cli(capsys, "train", "--data", f"csv:{in_cli_home['data']}", "--model", "bag_of_embeddings",
                             "--set", "hiden=8")
    assert_plain_error(code, out, err, "hiden", "hidden")


@pytest.mark.parametrize("setting", ["epochs=many", "lr=fast", "hidden"])
def test_bad_set_values_are_plain_errors(in_cli_home, capsys, setting):
    code, out, err = run_cli(capsys, "train", "--data", f"csv:{in_cli_home['data']}", "--model", "bag_of_embeddings",
                             "--set", setting)
    assert_plain_error(code, out, err)


def test_missing_data_file_is_a_plain_error(capsys, tmp_path):
    code, out, err = run_cli(capsys, "train", "--data", f"csv:{tmp_path / 'missing.csv'}", "--model", "lstm")
    assert_plain_error(code, out, err, "missing.csv")


def test_empty_text_to_predict_is_a_plain_error(in_cli_home, capsys):
    code, out, err = run_cli(capsys, "predict", "--run", "cli-run", "--text", "  ")
    assert_plain_error(code, out, err)


def test_training_that_diverges_exits_with_code_1(capsys, tmp_path, review_texts):
    texts, labels = review_texts(64)
    data = tmp_path / "r.csv"
    pd.DataFrame({"text": texts, "label": labels}).to_csv(data, index=False)
    code, out, err = run_cli(capsys, "train", "--data", f"csv:{data}", "--model", "bag_of_embeddings",
                             "--set", "optimizer=sgd", "--set", "lr=10", "--set", "grad_clip=none", "--set", "batch_size=4",
                             "--set", "weight_decay=0",
                             "--epochs", "3")
    assert_plain_error(code, out, err, "learning rate", exit_code=1)
    assert list((Path(os.environ["BIGMODEL_HOME"]) / "runs").iterdir()) == []


def test_errors_from_a_real_process_go_to_stderr_with_exit_code_2(cli_home):
    env = {**os.environ, "BIGMODEL_HOME": str(cli_home["home"]), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "bigmodel_core", "predict", "--run", "gone", "--text", "hi", "--json"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("Error: The run 'gone' does not exist") and "Hint: " in proc.stderr


def test_models_json_marks_the_model_the_app_picks_for_each_kind_of_data(capsys):
    code, out, _ = run_cli(capsys, "models", "--json")
    assert code == 0
    defaults = {row["task"]: row["name"] for row in json_lines(out) if row["default"]}
    assert defaults == {"text": "lstm", "image": "convnet"}


@pytest.mark.parametrize("spec, model", [("builtin:synthetic_reviews", "lstm"), ("builtin:digits", "convnet")])
def test_train_without_a_model_uses_the_default_for_that_kind_of_data(capsys, isolated_home, spec, model):
    code, out, err = run_cli(capsys, "train", "--data", spec, "--dry-run", "--json", "--set", "max_rows=200")
    assert code == 0, err
    info = json.loads((Path(json_lines(out)[-1]["path"]) / "run.json").read_text())
    assert info["config"]["model"]["name"] == model
