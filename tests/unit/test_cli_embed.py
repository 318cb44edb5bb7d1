"""The CLI for word vectors (embed train | neighbours | analogy | list | import), training from them, and
explain --method lime | ig | attention."""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from bigmodel_core.__main__ import main
from bigmodel_core.training import callbacks  # noqa: F401  (imported before any test redirects stdout)

TEXT = "not good at all, a boring film"


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]  # fails if any line is not JSON


def run_quietly(*argv: str) -> tuple[int, str, str]:
    """main(argv) with stdout and stderr captured (for module fixtures, where capsys cannot be used)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def cli_vectors(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A workspace with Word2Vec vectors from `embed train`, an LSTM run started from them (frozen)
    and a small Transformer run, all made through the CLI."""
    home = tmp_path_factory.mktemp("cli_vectors_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BIGMODEL_HOME", str(home))
        embed = run_quietly("embed", "train", "--data", "builtin:synthetic_reviews", "--set", "max_rows=300",
                            "--dim", "16", "--epochs", "2", "--json")
        assert embed[0] == 0, embed[2]
        set_id = json_lines(embed[1])[-1]["id"]
        lstm = run_quietly("train", "--data", "builtin:synthetic_reviews", "--model", "lstm",
                           "--set", "max_rows=300", "--set", "hidden=8", "--set", f"embeddings={set_id}",
                           "--set", "freeze_embeddings=true", "--epochs", "1", "--name", "lstm-vectors", "--json")
        assert lstm[0] == 0, lstm[2]
        transformer = run_quietly("train", "--data", "builtin:synthetic_reviews", "--model", "transformer",
                                  "--set", "max_rows=300", "--set", "dim=16", "--set", "heads=2", "--set", "layers=2",
                                  "--set", "ff=16", "--epochs", "1", "--name", "tiny-transformer", "--json")
        assert transformer[0] == 0, transformer[2]
    return {"home": home, "set_id": set_id, "embed": embed, "lstm": lstm, "transformer": transformer}


@pytest.fixture
def in_cli_home(cli_vectors: dict, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv("BIGMODEL_HOME", str(cli_vectors["home"]))
    return cli_vectors


def glove_file(path: Path) -> Path:
    rows = {"cat": [1.0, 0.9, 0.0], "dog": [0.9, 1.0, 0.1], "car": [0.0, 0.1, 1.0], "bus": [0.1, 0.0, 0.9]}
    path.write_text("".join(f"{w} {' '.join(map(str, v))}\n" for w, v in rows.items()), encoding="utf-8")
    return path


# --- embed train / neighbours / analogy ---------------------------------------------------------
def test_embed_train_prints_each_epoch_and_the_saved_set(cli_vectors):
    code, out, _ = cli_vectors["embed"]
    assert code == 0
    rows = json_lines(out)
    assert rows[0]["event"] == "fit_start" and rows[0]["dim"] == 16 and rows[0]["sg"]
    epochs = [r for r in rows if r["event"] == "epoch_end"]
    assert [r["epoch"] for r in epochs] == [1, 2] and all(r["loss"] > 0 and r["words_per_s"] > 0 for r in epochs)
    saved = rows[-1]
    assert saved["event"] == "saved" and saved["id"] == cli_vectors["set_id"] and saved["dim"] == 16
    assert saved["vocab_size"] > 50 and not saved["stopped"]
    assert (Path(saved["path"]) / "vectors.npy").is_file()


def test_embed_list_shows_the_saved_set(in_cli_home, capsys):
    code, out, _ = run_cli(capsys, "embed", "list", "--json")
    assert code == 0
    (row,) = json_lines(out)
    assert row["id"] == in_cli_home["set_id"] and row["dim"] == 16 and "losses" not in row


def test_embed_neighbours_lists_the_nearest_words(in_cli_home, capsys):
    code, out, _ = run_cli(capsys, "embed", "neighbours", "--vectors", in_cli_home["set_id"], "--word", "good",
                           "--word", "film", "--k", "4", "--json")
    assert code == 0
    rows = json_lines(out)
    assert [r["word"] for r in rows] == ["good", "film"]
    for row in rows:
        assert row["event"] == "neighbours" and len(row["neighbours"]) == 4
        sims = [n["similarity"] for n in row["neighbours"]]
        assert sims == sorted(sims, reverse=True) and all(-1 <= s <= 1 for s in sims)
        assert row["word"] not in [n["word"] for n in row["neighbours"]]


def test_embed_neighbours_of_a_misspelt_word_suggests_the_right_one(in_cli_home, capsys):
    code, out, err = run_cli(capsys, "embed", "neighbours", "--vectors", in_cli_home["set_id"], "--word", "goood")
    assert code == 2 and out == ""
    assert "'goood' is not in the vocabulary" in err and "Did you mean" in err and "'good'" in err
    assert "Traceback" not in err


def test_embed_neighbours_of_a_set_that_does_not_exist_is_a_plain_error(in_cli_home, capsys):
    code, _, err = run_cli(capsys, "embed", "neighbours", "--vectors", "no-such-set", "--word", "good")
    assert code == 2 and "no vector set or vectors file called 'no-such-set'" in err
    assert in_cli_home["set_id"] in err  # the hint names the sets there are


def test_embed_analogy_answers_without_its_inputs(in_cli_home, capsys):
    code, out, _ = run_cli(capsys, "embed", "analogy", "--vectors", in_cli_home["set_id"],
                           "--a", "good", "--b", "bad", "--c", "boring", "--json")
    assert code == 0
    (row,) = json_lines(out)
    assert row["event"] == "analogy" and (row["a"], row["b"], row["c"]) == ("good", "bad", "boring")
    words = [a["word"] for a in row["answers"]]
    assert len(words) == 5 and not {"good", "bad", "boring"} & set(words)


def test_embed_neighbours_reads_a_glove_file(tmp_path, capsys):
    path = glove_file(tmp_path / "tiny_glove.txt")
    code, out, _ = run_cli(capsys, "embed", "neighbours", "--vectors", str(path), "--word", "cat", "--k", "2", "--json")
    assert code == 0
    (row,) = json_lines(out)
    assert [n["word"] for n in row["neighbours"]] == ["dog", "bus"]
    assert row["neighbours"][0]["similarity"] > 0.9
    code, out, _ = run_cli(capsys, "embed", "neighbours", "--vectors", str(path), "--word", "CAR", "--k", "1")
    assert code == 0 and out.startswith("CAR: bus 0.9")  # looked up lower-cased; a readable line without --json


def test_embed_import_makes_a_set_usable_by_id(tmp_path, capsys):
    path = glove_file(tmp_path / "tiny_glove.txt")
    code, out, _ = run_cli(capsys, "embed", "import", "--file", str(path), "--title", "tiny", "--json")
    assert code == 0
    (saved,) = json_lines(out)
    assert saved["event"] == "saved" and saved["vocab_size"] == 4 and saved["dim"] == 3
    code, out, _ = run_cli(capsys, "embed", "analogy", "--vectors", saved["id"], "--a", "cat", "--b", "dog",
                           "--c", "car", "--k", "1", "--json")
    assert code == 0 and json_lines(out)[0]["answers"][0]["word"] == "bus"


# --- train from vectors -------------------------------------------------------------------------
def test_train_from_vectors_prints_an_embeddings_event_with_coverage(cli_vectors):
    code, out, _ = cli_vectors["lstm"]
    assert code == 0
    rows = json_lines(out)
    (emb,) = [r for r in rows if r["event"] == "embeddings"]
    assert emb["vectors"] == emb["set_id"] == cli_vectors["set_id"]
    assert emb["dim"] == 16 and emb["frozen"] is True
    cov = emb["coverage"]
    assert 0 < cov["found"] <= cov["total"] and cov["fraction"] == pytest.approx(cov["found"] / cov["total"])
    assert rows[-1]["event"] == "fit_end" and rows[-1]["run"] == "lstm-vectors"
    info = json.loads((cli_vectors["home"] / "runs" / "lstm-vectors" / "run.json").read_text(encoding="utf-8"))
    assert info["model_params"]["embed_dim"] == 16 and info["embeddings"]["coverage"] == cov


def test_train_without_vectors_prints_no_embeddings_event(cli_vectors):
    events = [r["event"] for r in json_lines(cli_vectors["transformer"][1])]
    assert "embeddings" not in events and events[-1] == "fit_end"


def test_train_from_vectors_without_json_says_how_many_words_got_one(in_cli_home, capsys):
    code, out, _ = run_cli(capsys, "train", "--data", "builtin:synthetic_reviews", "--model", "bag_of_embeddings",
                           "--set", "max_rows=200", "--set", "hidden=8", "--set", f"embeddings={in_cli_home['set_id']}",
                           "--epochs", "1", "--name", "bag-plain-output")
    assert code == 0
    line = next(line for line in out.splitlines() if line.startswith("Word vectors"))
    assert "16 dimensions, fine-tuned" in line and "got a vector" in line


def test_train_from_missing_vectors_is_a_plain_error(in_cli_home, capsys):
    code, out, err = run_cli(capsys, "train", "--data", "builtin:synthetic_reviews", "--model", "lstm",
                             "--set", "max_rows=200", "--set", "embeddings=no-such-set", "--epochs", "1",
                             "--name", "never-saved", "--json")
    assert code == 2 and '"event": "fit_start"' not in out and "no vector set or vectors file called 'no-such-set'" in err
    assert not (in_cli_home["home"] / "runs" / "never-saved").exists()


# --- explain ------------------------------------------------------------------------------------
def test_explain_ig_prints_a_weight_per_token(in_cli_home, capsys):
    code, out, _ = run_cli(capsys, "explain", "--run", "lstm-vectors", "--text", TEXT, "--method", "ig", "--json")
    assert code == 0
    (row,) = json_lines(out)
    assert row["event"] == "explain" and row["method"] == "ig" and row["text"] == TEXT
    assert [w["token"] for w in row["weights"]] == ["not", "good", "at", "all", ",", "a", "boring", "film"]
    assert all(isinstance(w["weight"], float) for w in row["weights"])
    assert row["explained"] == row["prediction"] and set(row["probabilities"]) == {"negative", "positive"}
    assert 0 <= row["score"] < 0.5  # the convergence delta


def test_explain_ig_for_a_chosen_class(in_cli_home, capsys):
    code, out, _ = run_cli(capsys, "explain", "--run", "lstm-vectors", "--text", TEXT, "--method", "ig",
                           "--label", "positive", "--json")
    assert code == 0 and json_lines(out)[0]["explained"] == "positive"


def test_explain_attention_on_a_transformer_prints_layers_and_heads(in_cli_home, capsys):
    code, out, _ = run_cli(capsys, "explain", "--run", "tiny-transformer", "--text", TEXT, "--method", "attention",
                           "--json")
    assert code == 0
    (row,) = json_lines(out)
    assert row["method"] == "attention" and row["layers"] == 2 and row["heads"] == 2
    n = len(row["tokens"])
    attention = np.asarray(row["attention"])
    assert row["tokens"][:2] == ["not", "good"] and attention.shape == (2, 2, n, n)
    np.testing.assert_allclose(attention.sum(-1), 1.0, atol=1e-3)
    assert len(row["rollout"]) == n and sum(row["rollout"]) == pytest.approx(1.0, abs=1e-3)
    code, out, _ = run_cli(capsys, "explain", "--run", "tiny-transformer", "--text", TEXT, "--method", "attention")
    assert code == 0 and out.startswith("attention rollout (2 layers x 2 heads): ")


def test_explain_attention_on_an_lstm_is_a_plain_error(in_cli_home, capsys):
    code, out, err = run_cli(capsys, "explain", "--run", "lstm-vectors", "--text", TEXT, "--method", "attention")
    assert code == 2 and out == ""
    assert err.startswith("Error: ") and "no attention to show" in err and "Hint:" in err and "transformer" in err
    assert "Traceback" not in err


def test_explain_saliency_on_a_text_run_is_a_plain_error(in_cli_home, capsys):
    code, out, err = run_cli(capsys, "explain", "--run", "lstm-vectors", "--text", TEXT, "--method", "saliency")
    assert code == 2 and out == ""
    assert "'saliency' is not a method for text models" in err
    assert "lime, ig, attention" in err


def test_a_mistyped_true_or_false_setting_is_refused(capsys):
    from bigmodel_core.__main__ import main

    code = main(["train", "--data", "builtin:synthetic_reviews", "--model", "lstm", "--set", "freeze_embeddings=ture",
                 "--dry-run"])
    assert code == 2
    assert "freeze_embeddings cannot be 'ture'" in capsys.readouterr().err


def test_an_unknown_text_setting_for_word2vec_is_a_plain_error(capsys):
    from bigmodel_core.__main__ import main

    assert main(["embed", "train", "--data", "builtin:synthetic_reviews", "--set", "lowercas=false"]) == 2
    err = capsys.readouterr().err
    assert "'lowercas' is not a text setting" in err and "lowercase" in err and "Traceback" not in err
