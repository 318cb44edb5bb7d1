"""The CLI with pictures: train on digits or an .npz, predict and explain a picture file, plain errors for mix-ups."""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bigmodel_core.__main__ import main
from bigmodel_core.models import list_models
from bigmodel_core.training import callbacks  # noqa: F401  (imported before any test redirects stdout)

DIGITS = [str(d) for d in range(10)]


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]  # fails if a line is not JSON


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_plain_error(code: int, out: str, err: str, *words: str, exit_code: int = 2) -> None:
    assert code == exit_code, err
    lines = err.strip().splitlines()
    assert lines[0].startswith("Error: ") and lines[1].startswith("Hint: "), err
    assert "Traceback" not in err
    for word in words:
        assert word in err, (word, err)


def scan_of_digit(path: Path, index: int) -> Path:
    """Built-in digit `index` saved as a 64x64 PNG, white on black, like a photo of a written digit."""
    from sklearn.datasets import load_digits

    small = load_digits().images[index]  # (8, 8) in 0..16
    big = np.kron(small * 16, np.ones((8, 8))).clip(0, 255).astype(np.uint8)
    Image.fromarray(big).save(path)
    return path


@pytest.fixture(scope="module")
def image_home(tmp_path_factory):
    """A workspace with two digit runs: 'digits-lenet' from the CLI (300 digits, 1 epoch, output kept)
    and 'digits-convnet', a convnet trained on all 1,797 digits that reads digits well (about 2 s)."""
    from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from bigmodel_core.training.run import train_run

    home = tmp_path_factory.mktemp("image_cli_home")
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        mp.setenv("BIGMODEL_HOME", str(home))
        code = main(["train", "--data", "builtin:digits", "--model", "lenet", "--epochs", "1", "--set", "max_rows=300",
                     "--name", "digits-lenet", "--json"])
    train_run(RunConfig(DataConfig("builtin:digits"), ModelConfig("convnet"), TrainConfig(epochs=3),
                        name="digits-convnet"), home=home)
    return {"home": home, "code": code, "out": out.getvalue(), "err": err.getvalue()}


@pytest.fixture
def in_image_home(image_home, monkeypatch):
    monkeypatch.setenv("BIGMODEL_HOME", str(image_home["home"]))
    return image_home


@pytest.fixture
def seven(tmp_path) -> Path:
    return scan_of_digit(tmp_path / "seven.png", 7)  # load_digits().target[7] == 7


# --- listing ------------------------------------------------------------------------------------
def test_models_for_images_are_listed(capsys):
    code, out, _ = run_cli(capsys, "models", "--task", "image", "--json")
    assert code == 0
    rows = json_lines(out)
    assert [r["name"] for r in rows] == list_models(task="image")
    assert {"mlp", "lenet", "convnet"} <= {r["name"] for r in rows} and all(r["task"] == "image" for r in rows)


def test_datasets_list_the_builtin_digits(capsys):
    code, out, _ = run_cli(capsys, "datasets", "--json")
    assert code == 0
    digits = next(r for r in json_lines(out) if r["spec"] == "builtin:digits")
    assert digits["task"] == "image" and digits["offline"] is True


# --- train --------------------------------------------------------------------------------------
def test_training_on_builtin_digits_prints_json_lines_ending_with_fit_end(image_home):
    assert image_home["code"] == 0, image_home["err"]
    rows = json_lines(image_home["out"])
    assert rows[0]["event"] == "fit_start"
    assert [r["epoch"] for r in rows if r["event"] == "epoch_end"] == [1]
    last = rows[-1]
    assert last["event"] == "fit_end" and last["run"] == "digits-lenet"
    for key in ("val_accuracy", "test_accuracy", "test_macro_f1"):
        assert 0 <= last["metrics"][key] <= 1
    info = json.loads((image_home["home"] / "runs" / "digits-lenet" / "run.json").read_text())
    assert info["task"] == "image" and info["config"]["model"]["name"] == "lenet"
    assert info["config"]["data"]["max_rows"] == 300 and info["config"]["train"]["epochs"] == 1


def test_training_an_mlp_on_an_npz_file_learns_its_classes(capsys, tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 60, (160, 10, 10), dtype=np.uint8)
    labels = np.array(["left", "right"] * 80)
    images[labels == "left", :, :5] += 180  # bright left half
    images[labels == "right", :, 5:] += 180  # bright right half
    arrays = tmp_path / "halves.npz"
    np.savez(arrays, images=images, labels=labels)
    code, out, err = run_cli(capsys, "train", "--data", f"npz:{arrays}", "--model", "mlp", "--epochs", "3",
                             "--name", "halves-mlp", "--json")
    assert code == 0, err
    last = json_lines(out)[-1]
    assert last["event"] == "fit_end" and last["run"] == "halves-mlp"
    assert last["metrics"]["val_accuracy"] >= 0.9  # which half is bright is easy to learn
    info = json.loads((Path(last["path"]) / "run.json").read_text())
    assert info["task"] == "image" and info["data_info"]["class_names"] == ["left", "right"]
    # another file of the same kind, at another size: eval brings it to the model's 10x10 pictures
    other = rng.integers(0, 60, (40, 20, 20), dtype=np.uint8)
    other_labels = np.array(["left", "right"] * 20)
    other[other_labels == "left", :, :10] += 180
    other[other_labels == "right", :, 10:] += 180
    np.savez(tmp_path / "other.npz", images=other, labels=other_labels)
    code, out, err = run_cli(capsys, "eval", "--run", "halves-mlp", "--data", f"npz:{tmp_path / 'other.npz'}", "--json")
    assert code == 0, err
    (row,) = json_lines(out)
    assert row["event"] == "eval" and row["metrics"]["rows"] == 40 and row["metrics"]["accuracy"] >= 0.9


def test_eval_of_an_image_run_on_the_builtin_digits_reads_them_all(in_image_home, capsys):
    code, out, err = run_cli(capsys, "eval", "--run", "digits-convnet", "--data", "builtin:digits", "--json")
    assert code == 0, err
    (row,) = json_lines(out)
    assert row["metrics"]["rows"] == 1797 and row["metrics"]["accuracy"] > 0.8


def test_eval_of_an_image_run_on_texts_is_a_plain_error(in_image_home, capsys):
    code, out, err = run_cli(capsys, "eval", "--run", "digits-convnet", "--data", "builtin:synthetic_reviews")
    assert code == 2 and "reads images" in err and "Traceback" not in err


# --- predict ------------------------------------------------------------------------------------
def test_predicting_a_picture_prints_a_prediction_and_probabilities(in_image_home, capsys, tmp_path, seven):
    zero = scan_of_digit(tmp_path / "zero.png", 0)
    code, out, _ = run_cli(capsys, "predict", "--run", "digits-lenet", "--image", str(seven), "--image", str(zero),
                           "--json")
    assert code == 0
    rows = json_lines(out)
    assert [r["image"] for r in rows] == [str(seven), str(zero)]  # one line per picture, in order
    for row in rows:
        assert row["event"] == "predict" and row["prediction"] in DIGITS
        assert sorted(row["probabilities"]) == DIGITS
        assert sum(row["probabilities"].values()) == pytest.approx(1, abs=1e-5)
        assert row["prediction"] == max(row["probabilities"], key=row["probabilities"].get)


def test_a_clearly_written_digit_is_recognised(in_image_home, capsys, tmp_path):
    for index, digit in ((0, "0"), (1, "1"), (7, "7")):
        picture = scan_of_digit(tmp_path / f"{digit}.png", index)
        code, out, _ = run_cli(capsys, "predict", "--run", "digits-convnet", "--image", str(picture), "--json")
        assert code == 0
        (row,) = json_lines(out)
        assert row["prediction"] == digit, row["probabilities"]


def test_predict_without_json_prints_the_label_and_the_top_classes(in_image_home, capsys, seven):
    code, out, _ = run_cli(capsys, "predict", "--run", "digits-convnet", "--image", str(seven))
    assert code == 0
    assert out.startswith("7  (top: 7 ") and out.count(",") == 2  # the three likeliest classes


# --- explain ------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["saliency", "ig", "lime"])
def test_explaining_a_picture_prints_a_heatmap_of_the_model_input_size(in_image_home, capsys, seven, method):
    code, out, _ = run_cli(capsys, "explain", "--run", "digits-convnet", "--image", str(seven), "--method", method,
                           "--samples", "300", "--json")
    assert code == 0
    (row,) = json_lines(out)
    assert row["event"] == "explain" and row["method"] == method and row["image"] == str(seven)
    assert row["prediction"] == row["explained"] == "7"  # the predicted class is explained by default
    assert sum(row["probabilities"].values()) == pytest.approx(1, abs=1e-5)
    heat = np.asarray(row["heatmap"], dtype=float)
    assert heat.shape == (8, 8)  # the model reads 8x8 digits, whatever the size of the file
    assert np.abs(heat).max() > 0
    if method == "saliency":
        assert heat.min() >= 0  # sensitivity has no sign


def test_explaining_a_chosen_class(in_image_home, capsys, seven):
    code, out, _ = run_cli(capsys, "explain", "--run", "digits-convnet", "--image", str(seven), "--method", "ig",
                           "--label", "1", "--json")
    assert code == 0
    (row,) = json_lines(out)
    assert row["prediction"] == "7" and row["explained"] == "1"


def test_the_same_seed_gives_the_same_lime_heatmap(in_image_home, capsys, seven):
    args = ("explain", "--run", "digits-convnet", "--image", str(seven), "--samples", "200", "--seed", "3", "--json")
    _, first, _ = run_cli(capsys, *args)
    _, second, _ = run_cli(capsys, *args)
    assert json_lines(first)[0]["heatmap"] == json_lines(second)[0]["heatmap"]


def test_explain_without_json_names_the_strongest_pixel(in_image_home, capsys, seven):
    code, out, _ = run_cli(capsys, "explain", "--run", "digits-convnet", "--image", str(seven), "--method", "saliency")
    assert code == 0
    assert out.startswith("7 (saliency): strongest pixel at row ") and "column" in out


# --- errors -------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["predict", "explain"])
def test_text_for_an_image_run_is_a_plain_error(in_image_home, capsys, command):
    code, out, err = run_cli(capsys, command, "--run", "digits-lenet", "--text", "x")
    assert_plain_error(code, out, err, "digits-lenet", "image model", "--image")
    assert out == ""


@pytest.mark.parametrize("command", ["predict", "explain"])
def test_text_and_a_picture_together_for_an_image_run_is_a_plain_error(in_image_home, capsys, seven, command):
    code, out, err = run_cli(capsys, command, "--run", "digits-lenet", "--image", str(seven), "--text", "x")
    assert_plain_error(code, out, err, "digits-lenet", "--text")


@pytest.mark.parametrize("command", ["predict", "explain"])
def test_a_picture_for_a_text_run_is_a_plain_error(trained_run, capsys, seven, command):
    code, out, err = run_cli(capsys, command, "--run", str(trained_run["path"]), "--image", str(seven))
    assert_plain_error(code, out, err, "reviews-bag", "text model", "--text")
    assert out == ""


@pytest.mark.parametrize("where", ["missing.png", "."], ids=["missing", "a-folder"])
def test_an_unreadable_image_path_is_a_plain_error(in_image_home, capsys, tmp_path, where):
    path = tmp_path / where
    code, out, err = run_cli(capsys, "predict", "--run", "digits-lenet", "--image", str(path))
    assert_plain_error(code, out, err, str(path))
    assert out == ""


def test_a_file_that_is_not_a_picture_is_a_plain_error_naming_it(in_image_home, capsys, tmp_path):
    notes = tmp_path / "notes.png"
    notes.write_text("not a picture at all", encoding="utf-8")
    code, out, err = run_cli(capsys, "predict", "--run", "digits-lenet", "--image", str(notes))
    assert_plain_error(code, out, err, "notes.png")


def test_a_blank_picture_is_a_plain_error_about_the_file_not_a_canvas(in_image_home, capsys, tmp_path):
    blank = tmp_path / "blank.png"
    Image.new("L", (64, 64), 0).save(blank)
    code, out, err = run_cli(capsys, "explain", "--run", "digits-lenet", "--image", str(blank), "--method", "ig")
    assert_plain_error(code, out, err, "blank.png")
    assert "canvas" not in err.lower() and "mouse" not in err.lower()  # there is no canvas on the command line
