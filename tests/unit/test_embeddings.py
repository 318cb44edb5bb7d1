"""Word embeddings: Word2Vec training, vector files, queries, maps, coverage and the GloVe download."""
from __future__ import annotations

import io
import pickle
import random
import threading
import time
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest

from bigmodel_core.config import DataConfig
from bigmodel_core.data.dataset import TextDataset
from bigmodel_core.data.download import cache_dir
from bigmodel_core.data.text.pipeline import TextPipeline
from bigmodel_core.embeddings import glove
from bigmodel_core.embeddings.coverage import embedding_matrix
from bigmodel_core.embeddings.projection import class_lean, project
from bigmodel_core.embeddings.queries import (
    analogy,
    neighbours,
    odd_one_out,
    parse_analogy,
    similarity,
)
from bigmodel_core.embeddings.sets import list_vector_sets, new_set_id, save_vector_set
from bigmodel_core.embeddings.train import Word2VecConfig, train_word2vec, word2vec_job
from bigmodel_core.embeddings.vectors import (
    download_glove,
    import_vectors,
    keyed_vectors,
    load_vectors,
)
from bigmodel_core.errors import ConfigError, DataError, InputError, TrainingCancelled

ANIMALS = ("cat", "dog", "pet", "fur", "paw")
VEHICLES = ("car", "road", "engine", "wheel", "drive")
FILLER = ("the", "a", "and", "with", "is", "very", "my", "big", "old")
SMALL = {"dim": 16, "window": 3, "min_count": 1, "epochs": 15, "seed": 0}


def topic_texts(n: int = 400, seed: int = 0) -> tuple[list[str], list[str]]:
    """Sentences from one of two topics: words of a topic co-occur, fillers go with both."""
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        topic, words = ("animals", ANIMALS) if i % 2 else ("vehicles", VEHICLES)
        tokens = rng.choices(words, k=6) + rng.sample(FILLER, 3)
        rng.shuffle(tokens)
        texts.append(" ".join(tokens))
        labels.append(topic)
    return texts, labels


def text_dataset(texts: list[str], labels: list[str]) -> TextDataset:
    names = sorted(set(labels))
    return TextDataset(texts, np.array([names.index(label) for label in labels]), names, spec="test:toy")


@pytest.fixture(scope="module")
def topics() -> TextDataset:
    return text_dataset(*topic_texts())


@pytest.fixture(scope="module")
def trained(topics: TextDataset, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One Word2Vec set trained on the topic sentences, with the progress events it sent."""
    home = tmp_path_factory.mktemp("w2v_home")
    events: list[dict] = []
    meta = train_word2vec(DataConfig(spec="test:toy"), **SMALL, progress=events.append, home=home, dataset=topics)
    return {"home": home, "meta": meta, "events": events}


def hand_vectors(rows: dict[str, list[float]]):
    return keyed_vectors(list(rows), np.array(list(rows.values()), dtype=np.float32))


# --- training -----------------------------------------------------------------------------------
def test_neighbours_of_cat_are_mostly_animals(trained):
    kv = load_vectors(trained["meta"]["id"], home=trained["home"])
    near = [w for w, _ in neighbours(kv, "cat", k=4)]
    assert sum(w in ANIMALS for w in near) >= 3, near
    assert similarity(kv, "cat", "dog") > similarity(kv, "cat", "engine")


def test_every_epoch_reports_its_own_loss_and_speed(trained):
    epochs = [e for e in trained["events"] if e["kind"] == "epoch_end"]
    assert [e["epoch"] for e in epochs] == list(range(1, SMALL["epochs"] + 1))
    assert all(e["loss"] > 0 and e["words_per_s"] > 0 and e["epochs"] == SMALL["epochs"] for e in epochs)
    assert epochs[-1]["loss"] < epochs[0]["loss"] * 1.5  # per-epoch, not a running sum
    meta = trained["meta"]
    assert meta["losses"] == [e["loss"] for e in epochs] and not meta["stopped"]
    assert trained["events"][0]["kind"] == "fit_start" and trained["events"][-1]["kind"] == "fit_end"
    assert meta["vocab_size"] == len(set(ANIMALS + VEHICLES + FILLER)) and meta["dim"] == SMALL["dim"]


def test_saved_set_reloads_identically_without_pickle(trained, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("loading vectors must never unpickle")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    path = Path(trained["meta"]["path"])
    mapped = load_vectors(trained["meta"]["id"], home=trained["home"])
    binary = load_vectors(path / "vectors.bin")
    assert isinstance(mapped.vectors, np.memmap) and binary.bigmodel["format"] == "word2vec-binary"
    assert mapped.index_to_key == binary.index_to_key
    np.testing.assert_array_equal(np.asarray(mapped.vectors), binary.vectors)
    assert [m["id"] for m in list_vector_sets(trained["home"])] == [trained["meta"]["id"]]


def test_same_seed_gives_same_vectors(topics, tmp_path, trained):
    again = train_word2vec(DataConfig(spec="test:toy"), **SMALL, home=tmp_path, dataset=topics)
    first = load_vectors(trained["meta"]["id"], home=trained["home"])
    second = load_vectors(again["id"], home=tmp_path)
    np.testing.assert_array_equal(np.asarray(first.vectors), np.asarray(second.vectors))


def test_stop_after_first_epoch_saves_that_epoch_marked_stopped(topics, tmp_path):
    stop = threading.Event()
    events: list[dict] = []

    def progress(event: dict) -> None:
        events.append(event)
        if event["kind"] == "epoch_end":
            stop.set()

    meta = train_word2vec(DataConfig(spec="test:toy"), **SMALL, progress=progress, stop_event=stop,
                          home=tmp_path, dataset=topics)
    assert meta["stopped"] and meta["epochs_done"] == 1 and len(meta["losses"]) == 1
    assert [e["epoch"] for e in events if e["kind"] == "epoch_end"] == [1]
    assert load_vectors(meta["id"], home=tmp_path).vector_size == SMALL["dim"]


class StopsMidway(threading.Event):
    """An Event that turns set after `after` checks: a Stop pressed in the middle of an epoch."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.after, self.calls = after, 0

    def is_set(self) -> bool:
        self.calls += 1
        return self.calls > self.after


def test_stop_inside_an_epoch_keeps_the_last_complete_epoch(topics, tmp_path):
    stop = StopsMidway(after=len(topics.texts) + len(topics.texts) // 2)  # half-way through epoch 2
    meta = train_word2vec(DataConfig(spec="test:toy"), **SMALL, stop_event=stop, home=tmp_path, dataset=topics)
    assert meta["stopped"] and meta["epochs_done"] == 1 and len(meta["losses"]) == 1


def test_stop_before_the_first_epoch_saves_nothing(topics, tmp_path):
    stop = threading.Event()
    stop.set()
    with pytest.raises(TrainingCancelled):
        train_word2vec(DataConfig(spec="test:toy"), **SMALL, stop_event=stop, home=tmp_path, dataset=topics)
    assert list_vector_sets(tmp_path) == []
    assert not (tmp_path / "vectors").exists() or list((tmp_path / "vectors").iterdir()) == []  # nor half a set


def test_too_small_dataset_is_a_data_error(tmp_path):
    texts, labels = topic_texts(n=10)
    with pytest.raises(DataError, match="too few"):
        train_word2vec(DataConfig(spec="test:toy"), **SMALL, home=tmp_path, dataset=text_dataset(texts, labels))
    with pytest.raises(DataError, match="at least 10000 times") as err:
        train_word2vec(DataConfig(spec="test:toy"), **{**SMALL, "min_count": 10000}, home=tmp_path,
                       dataset=text_dataset(*topic_texts()))
    assert "minimum count" in err.value.hint
    with pytest.raises(ConfigError):
        train_word2vec(DataConfig(spec="test:toy"), **{**SMALL, "dim": 0}, home=tmp_path, dataset=None)


def test_word2vec_runs_as_a_background_job_from_a_csv(tmp_path):
    from bigmodel_core.training.jobs import JobManager

    texts, labels = topic_texts(200)
    csv = tmp_path / "topics.csv"
    csv.write_text("text,label\n" + "\n".join(f"{t},{y}" for t, y in zip(texts, labels)), encoding="utf-8")
    cfg = Word2VecConfig(DataConfig(spec=f"csv:{csv}"), **{**SMALL, "epochs": 2})
    manager = JobManager(home=str(tmp_path), runner=word2vec_job)
    job = manager.submit(cfg)
    deadline = time.time() + 30
    while not job.finished and time.time() < deadline:
        time.sleep(0.05)
    assert job.status == "done", job.error
    epochs = [e for e in job.log if e["kind"] == "epoch_end"]
    assert [e["epoch"] for e in epochs] == [1, 2] and epochs[0]["metrics"]["loss"] > 0
    assert load_vectors(job.result["id"], home=tmp_path).vector_size == SMALL["dim"]


# --- files --------------------------------------------------------------------------------------
ROWS = {"cat": [0.1, 0.2, 0.3], "dog": [0.1, 0.25, 0.3], "car": [-0.5, 0.1, 0.9]}


def glove_text(rows: dict = ROWS) -> str:
    return "".join(f"{w} {' '.join(str(v) for v in vec)}\n" for w, vec in rows.items())


@pytest.mark.parametrize("fmt", ["glove", "word2vec", "word2vec-binary"])
def test_each_file_format_loads(tmp_path, fmt):
    path = tmp_path / f"vectors.{'bin' if fmt.endswith('binary') else 'txt'}"
    if fmt == "glove":
        path.write_text(glove_text(), encoding="utf-8")
    elif fmt == "word2vec":
        path.write_text("3 3\n" + glove_text(), encoding="utf-8")
    else:
        hand_vectors(ROWS).save_word2vec_format(str(path), binary=True)
    kv = load_vectors(path)
    assert kv.bigmodel["format"] == fmt and kv.index_to_key == list(ROWS) and kv.vector_size == 3
    np.testing.assert_allclose(kv["car"], ROWS["car"], rtol=1e-6)
    assert load_vectors(path, limit=2).index_to_key == ["cat", "dog"]


def test_imported_file_becomes_a_mapped_set(tmp_path):
    path = tmp_path / "glove.txt"
    path.write_text(glove_text(), encoding="utf-8")
    meta = import_vectors(path, title="tiny", home=tmp_path)
    kv = load_vectors(meta["id"], home=tmp_path)
    assert kv.bigmodel["mmap"] and kv.index_to_key == list(ROWS) and meta["vocab_size"] == 3
    assert list_vector_sets(tmp_path)[0]["title"] == "tiny"
    with pytest.raises(DataError, match="no vector set or vectors file called 'nope'") as err:
        load_vectors("nope", home=tmp_path)
    assert meta["id"] in err.value.hint  # names the sets there are


@pytest.mark.parametrize("content, words", [
    (b"cat 0.1 0.2 0.3\ndog 0.1 0.2 0.3\ncar 0.5 0.1\n", ["Line 3", "2 numbers", "line 1 has 3"]),
    (b"3 3\ncat 0.1 0.2 0.3\ndog 0.1 0.2 0.3 0.4\ncar 0.5 0.1 0.2\n", ["Line 3", "header says 3"]),
    (b"", ["empty"]),
    (b"cat 0.1 0.2\ncaf\xe9 0.1 0.2\n", ["Line 2", "UTF-8"]),
    (b"cat 0.1 0.2\ndog 0.1 abc\n", ["Line 2", "'abc'"]),
    (b"5 3\ncat 0.1 0.2 0.3\n", ["promises 5", "ends after 1"]),
    (b"4 100\ncat " + b"\x00" * 40, ["too short"]),
    (random.Random(0).randbytes(3000), ["not a word-vector file"]),
    (b"cat 0.1 nan\n", ["Line 1", "finite"]),
])
def test_bad_vector_files_are_plain_data_errors(tmp_path, content, words):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(DataError) as err:
        load_vectors(path)
    for word in words:
        assert word in err.value.message, err.value.message
    assert err.value.hint


# --- queries ------------------------------------------------------------------------------------
def test_unknown_word_suggests_close_words():
    kv = hand_vectors({**ROWS, "cart": [0.0, 0.1, 0.9]})
    with pytest.raises(InputError) as err:
        neighbours(kv, "caat")
    assert err.value.message == "'caat' is not in the vocabulary of these vectors."
    assert "'cat'" in err.value.hint and err.value.hint.startswith("Did you mean")
    assert neighbours(kv, "CAT", k=1)[0][0] == "dog"  # looked up lower-cased too


def test_analogy_excludes_its_inputs():
    # king - man + woman lands nearest to the inputs woman and king; the answer must be queen.
    kv = hand_vectors({"king": [1.0, 0.2, 0.0], "man": [0.0, 1.0, 0.0], "woman": [1.0, 0.1, 0.3],
                       "queen": [0.5, -0.6, 0.4], "apple": [-1.0, 0.0, -0.2]})
    target = kv.get_vector("king", norm=True) - kv.get_vector("man", norm=True) + kv.get_vector("woman", norm=True)
    sims = {w: float(kv.get_vector(w, norm=True) @ target / np.linalg.norm(target)) for w in kv.index_to_key}
    assert sorted(sims, key=sims.get, reverse=True)[:3] == ["woman", "king", "queen"]  # the trap
    result = analogy(kv, "king", "man", "woman", k=2)
    assert [w for w, _ in result] == ["queen", "apple"]


def test_odd_one_out():
    kv = hand_vectors({"cat": [1, 0.1, 0], "dog": [1, 0.2, 0.1], "pet": [0.9, 0, 0.1], "car": [0, 0.1, 1]})
    assert odd_one_out(kv, ["cat", "dog", "car", "pet"]) == "car"
    with pytest.raises(InputError, match="at least 3"):
        odd_one_out(kv, ["cat", "dog"])


@pytest.mark.parametrize("text", ["king - man + woman", "king \u2212 man + woman", "king-man+woman",
                                  "king + woman - man", "  king   -man +  woman ", "king \u2013 man + woman"])
def test_parse_analogy_variants(text):
    assert parse_analogy(text) == ("king", "man", "woman")


def test_parse_analogy_keeps_hyphenated_words_and_rejects_others():
    assert parse_analogy("well-made - bad + good") == ("well-made", "bad", "good")
    for bad in ["king man woman", "king - man", "king + man + woman", "- man + woman", ""]:
        with pytest.raises(InputError):
            parse_analogy(bad)


# --- maps ---------------------------------------------------------------------------------------
@pytest.fixture
def random_set(tmp_path):
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(200)]
    meta = save_vector_set(words, rng.standard_normal((200, 20)), {"id": new_set_id("test")}, home=tmp_path)
    return load_vectors(meta["id"], home=tmp_path)


@pytest.mark.parametrize("method, dims", [("pca", 2), ("pca", 3), ("tsne", 2)])
def test_projection_shapes_and_cache(random_set, method, dims):
    first = project(random_set, n=200, dims=dims, method=method, seed=0)
    assert first["coords"].shape == (200, dims) and first["coords"].dtype == np.float32
    assert first["words"] == random_set.index_to_key and not first["cached"]
    assert np.isfinite(first["coords"]).all()
    files = list((Path(random_set.bigmodel["dir"]) / "projections").glob(f"{method}{dims}d-*"))
    assert sorted(p.suffix for p in files) == [".json", ".npy"]
    again = project(random_set, n=200, dims=dims, method=method, seed=0)
    assert again["cached"] and (method == "pca" or again["seconds"] < first["seconds"])
    np.testing.assert_array_equal(again["coords"], first["coords"])


def test_projection_of_chosen_words_lists_the_missing(random_set):
    result = project(random_set, words=["w1", "w2", "W3", "zzz", "w1"], dims=2)
    assert result["words"] == ["w1", "w2", "w3"] and result["missing"] == ["zzz"]
    with pytest.raises(InputError, match="at least 3"):
        project(random_set, words=["w1", "zzz"])
    with pytest.raises(InputError):
        project(random_set, n=20_000)


def test_class_lean_puts_great_positive_and_awful_negative(review_texts):
    texts, labels = review_texts(200, 0)
    ds = text_dataset(texts, labels)
    lean = class_lean(["great", "awful", "film", "zebra"], ds, TextPipeline(DataConfig()))
    assert lean["great"] > 1 and lean["awful"] < -1 and abs(lean["film"]) < 1 and lean["zebra"] == 0.0
    named = class_lean(["great", "awful"], ds, TextPipeline(DataConfig()), with_class=True)
    assert named["great"][0] == "positive" and named["awful"][0] == "negative"


def test_class_lean_with_three_classes_names_the_leaning_class():
    texts = ["cat paw"] * 10 + ["car road"] * 10 + ["apple pear"] * 10
    labels = ["animals"] * 10 + ["vehicles"] * 10 + ["fruit"] * 10
    lean = class_lean(["paw", "road", "pear"], text_dataset(texts, labels), TextPipeline(DataConfig()), with_class=True)
    assert {w: c for w, (c, _) in lean.items()} == {"paw": "animals", "road": "vehicles", "pear": "fruit"}
    assert all(score > 0 for _, score in lean.values())


# --- coverage -----------------------------------------------------------------------------------
def test_embedding_matrix_covers_known_words_and_zeroes_pad():
    kv = hand_vectors({"cat": [1.0, 2.0, 3.0], "dog": [0.5, 0.5, 0.5], "Paris": [0.0, 1.0, 0.0]})
    itos = ["<pad>", "<unk>", "cat", "Dog", "paris", "zebra"]
    matrix, coverage = embedding_matrix(kv, itos, 3)
    assert matrix.shape == (6, 3) and matrix.dtype == np.float32
    assert not matrix[0].any()
    np.testing.assert_array_equal(matrix[2], kv["cat"])
    np.testing.assert_array_equal(matrix[3], kv["dog"])  # found lower-cased
    assert coverage == {"found": 2, "total": 4, "fraction": 0.5, "missing_examples": ["paris", "zebra"]}
    assert matrix[5].any() and np.array_equal(matrix, embedding_matrix(kv, itos, 3)[0])  # seeded
    with pytest.raises(InputError, match="3 dimensions"):
        embedding_matrix(kv, itos, 8)


# --- GloVe download -----------------------------------------------------------------------------
def glove_zip() -> bytes:
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for dim in (50, 100, 200):
            rows = {w: rng.standard_normal(dim).round(4).tolist() for w in ("the", "cat", "dog")}
            archive.writestr(f"glove.6B.{dim}d.txt", glove_text(rows))
    return buffer.getvalue()


@pytest.fixture
def glove_server(server, monkeypatch):
    """(base_url, served zip, stop): the local test server with a tiny glove.6B.zip where GloVe's URL points."""
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    base, root, stop = server
    served = root / urlsplit(glove.GLOVE_URL).path.lstrip("/")
    served.parent.mkdir(parents=True)
    served.write_bytes(glove_zip())
    return base, served, stop


def test_glove_download_extracts_the_wanted_width_and_caches(glove_server, tmp_path):
    base, served, stop_server = glove_server
    home = tmp_path / "home"
    assert glove.glove_info(50, home)["archive_bytes"] == 862_182_613
    seen: list[tuple[int, int | None]] = []
    path = download_glove(50, home=home, progress=lambda done, total: seen.append((done, total)), base_url=base)
    assert path == cache_dir(home) / "glove.6B.50d.txt" and seen[-1][0] == served.stat().st_size
    assert sorted(p.name for p in cache_dir(home).iterdir()) == ["checksums.json", "glove.6B.50d.txt", "glove.6B.zip"]
    assert load_vectors(path).vector_size == 50
    stop_server()  # offline from here: the cached archive serves the other width
    assert load_vectors(download_glove(100, home=home, base_url=base)).vector_size == 100
    assert download_glove(50, home=home, base_url=base) == path and glove.glove_info(50, home)["cached"]
    with pytest.raises(DataError):
        download_glove(300, home=home)


def test_glove_archive_without_the_member_is_dropped(glove_server, tmp_path, monkeypatch):
    monkeypatch.setitem(glove.GLOVE, 50, glove.GloveSet(50, "glove.6B.missing.txt", 1))
    with pytest.raises(DataError, match="has no glove.6B.missing.txt"):
        download_glove(50, home=tmp_path, base_url=glove_server[0])
    assert not (cache_dir(tmp_path) / "glove.6B.zip").exists()


def test_glove_import_downloads_once_and_reuses_the_saved_set(glove_server, tmp_path):
    from bigmodel_core.embeddings.vectors import import_glove

    base, _, stop_server = glove_server
    home = tmp_path / "home"
    meta = import_glove(50, limit=2, home=home, base_url=base)
    assert meta["kind"] == "glove" and meta["dim"] == 50 and meta["vocab_size"] == 2
    assert load_vectors(meta["id"], home=home).index_to_key == ["the", "cat"]  # the most frequent first
    stop_server()
    assert import_glove(50, limit=2, home=home, base_url=base)["id"] == meta["id"]  # no second import
    assert import_glove(50, limit=None, home=home, base_url=base)["vocab_size"] == 3  # another limit: from the cache


def test_an_uploaded_vectors_file_becomes_a_set_and_the_upload_is_not_kept(tmp_path):
    from bigmodel_core.embeddings import import_uploaded_vectors

    meta = import_uploaded_vectors("my vectors.txt", glove_text().encode(), home=tmp_path)
    assert meta["title"] == "my vectors" and meta["source"] == "my_vectors.txt (glove)"
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("index.sqlite")) == ["vectors"]  # no upload left
    with pytest.raises(DataError, match="is empty"):
        import_uploaded_vectors("empty.txt", b"", home=tmp_path)
    with pytest.raises(DataError):
        import_uploaded_vectors("garbage.bin", bytes(range(256)) * 8, home=tmp_path)
    assert len(list((tmp_path / "vectors").iterdir())) == 1  # the failed imports left nothing


def test_the_word_map_adds_searched_words_and_suggests_for_unknown_ones(tmp_path, monkeypatch):
    from bigmodel_core.config import DataConfig
    from bigmodel_core.embeddings import embedding_map
    from bigmodel_core.embeddings.sets import save_vector_set

    monkeypatch.setenv("BIGMODEL_HOME", str(tmp_path))
    words = [f"w{i}" for i in range(20)] + ["boring"]
    save_vector_set(words, np.random.default_rng(0).standard_normal((21, 5)), {"id": "s"})
    result = embedding_map("s", DataConfig(max_rows=200), n=5, dims=2, extra_words=("Boring", "borring", "w1"))
    assert result["words"] == ["w0", "w1", "w2", "w3", "w4", "boring"]  # added though not among the 5 most frequent
    assert result["found"] == ["boring", "w1"]
    assert result["not_found"] == [{"word": "borring", "suggestions": ["boring"]}]
    assert np.asarray(result["coords"]).shape == (6, 2)


def test_a_word2vec_setting_out_of_range_is_refused_before_any_work():
    with pytest.raises(ConfigError, match="dim"):
        Word2VecConfig(DataConfig(), dim=1)
    with pytest.raises(ConfigError, match="window"):
        train_word2vec(DataConfig(), window=0)
