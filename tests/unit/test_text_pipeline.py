"""Text pipeline (cleaning, NLTK tokenizers with no data, vocabulary, JSON) and length-bucketed batches."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from bigmodel_core.config import DataConfig
from bigmodel_core.data.text.batching import TextBatches
from bigmodel_core.data.text.pipeline import PAD, PAD_ID, TOKENIZERS, UNK, UNK_ID, TextPipeline, trace
from bigmodel_core.errors import ConfigError, DataError

SENTENCE = "I don't like it, it's NOT good!!! <br />See http://example.com/a?b=1 &amp; www.example.org now"


def pipe(**cfg) -> TextPipeline:
    return TextPipeline(DataConfig(**cfg))


@pytest.fixture
def no_nltk_data(tmp_path, monkeypatch):
    """NLTK sees only an empty data folder, as on a fresh install with nothing downloaded."""
    import nltk

    empty = tmp_path / "nltk_data"
    empty.mkdir()
    monkeypatch.setenv("NLTK_DATA", str(empty))
    monkeypatch.setattr(nltk.data, "path", [str(empty)])
    return empty


# --- tokenizing and cleaning --------------------------------------------------------------------
@pytest.mark.parametrize("tokenizer", TOKENIZERS)
def test_every_tokenizer_works_without_nltk_data(tokenizer, no_nltk_data):
    toks = pipe(tokenizer=tokenizer).tokens(SENTENCE)
    assert {"like", "not", "see", "now"} <= set(toks)
    assert not any("http" in t or "example" in t or "br" in t for t in toks)


@pytest.mark.parametrize("stemmer", ["porter", "snowball"])
def test_stemmers_work_without_nltk_data(stemmer, no_nltk_data):
    assert pipe(stemmer=stemmer).tokens("running movies loved") == ["run", "movi", "love"]


def test_treebank_splits_contractions_so_negation_is_a_word():
    assert pipe(tokenizer="treebank").tokens("I don't like it") == ["i", "do", "n't", "like", "it"]


def test_whitespace_tokenizer_splits_on_spaces_only():
    assert pipe(tokenizer="whitespace").tokens("Good,  very\tgood!") == ["good,", "very", "good!"]


def test_unknown_tokenizer_or_stemmer_suggests_valid_ones():
    with pytest.raises(ConfigError) as err:
        pipe(tokenizer="treebnk")
    assert "treebank" in err.value.hint
    with pytest.raises(ConfigError) as err:
        pipe(stemmer="portr")
    assert "porter" in err.value.hint


def test_lowercase_can_be_turned_off():
    assert pipe(lowercase=True).tokens("Great FILM") == ["great", "film"]
    assert pipe(lowercase=False).tokens("Great FILM") == ["Great", "FILM"]


def test_html_tags_are_stripped_and_entities_decoded():
    p = pipe()
    assert p.clean("Great<br />movie &amp; cast") == "great movie & cast"
    assert p.tokens("<b>bold</b><br/><i>move</i>") == ["bold", "move"]
    kept = pipe(strip_html=False).tokens("a<br>b")
    assert "br" in kept


def test_urls_are_stripped():
    toks = pipe().tokens("see http://example.com/x?y=1 and www.example.org/page now")
    assert toks == ["see", "and", "now"]
    assert "http" in "".join(pipe(strip_urls=False).tokens("see http://example.com now"))


def test_stopword_removal_keeps_negations():
    toks = pipe(remove_stopwords=True).tokens("This is not a good film and I don't like it, no, never the plot")
    for negation in ("not", "n't", "no", "never"):
        assert negation in toks
    for stop in ("this", "is", "a", "and", "the", "it"):
        assert stop not in toks
    assert "good" in toks and "film" in toks and "plot" in toks


def test_stemming_with_stopword_removal_keeps_negations():
    toks = pipe(remove_stopwords=True, stemmer="porter").tokens("it was not working and never worked")
    assert toks == ["not", "work", "never", "work"]


def test_long_texts_are_cut_at_max_len():
    assert len(pipe(max_len=5).tokens("one two three four five six seven")) == 5


# --- vocabulary ---------------------------------------------------------------------------------
def test_pad_and_unk_have_fixed_ids_and_unknown_words_map_to_unk():
    p = pipe().fit(["good film", "bad film"])
    assert p.itos[PAD_ID] == PAD and p.itos[UNK_ID] == UNK
    assert p.stoi[PAD] == 0 and p.stoi[UNK] == 1
    ids = p.encode(["good zebra film"])[0]
    assert ids.dtype == np.int64
    assert ids.tolist() == [p.stoi["good"], UNK_ID, p.stoi["film"]]
    assert p.is_known("good") and not p.is_known("zebra")


def test_empty_text_encodes_as_one_unknown_word():
    p = pipe().fit(["good film"])
    assert [x.tolist() for x in p.encode(["", "<br />"])] == [[UNK_ID], [UNK_ID]]


def test_min_freq_drops_rare_words():
    texts = ["good film", "good plot", "rare film"]
    p = pipe(min_freq=2).fit(texts)
    assert p.is_known("good") and p.is_known("film")
    assert not p.is_known("rare") and not p.is_known("plot")
    assert p.encode(["rare"])[0].tolist() == [UNK_ID]


def test_max_vocab_keeps_the_most_frequent_words():
    texts = ["a a a a b b b c c d"]
    p = pipe(max_vocab=4).fit(texts)
    assert p.vocab_size == 4
    assert p.itos == [PAD, UNK, "a", "b"]


def test_vocabulary_with_no_words_is_a_plain_error():
    with pytest.raises(DataError) as err:
        pipe().fit(["", "<br />", "http://example.com"])
    assert err.value.hint


def test_vocabulary_survives_a_json_round_trip():
    p = pipe(stemmer="porter", remove_stopwords=True, min_freq=1).fit(["the movies were lovely", "not lovely at all"])
    text = p.to_json()
    json.loads(text)  # plain JSON, nothing pickled
    q = TextPipeline.from_json(text)
    assert q.itos == p.itos and q.stoi == p.stoi
    assert q.cfg == p.cfg
    sample = ["Lovely movies, NOT at all!", "unseen words"]
    assert [a.tolist() for a in q.encode(sample)] == [a.tolist() for a in p.encode(sample)]


def test_trace_shows_every_step_of_one_text():
    p = pipe().fit(["a good film"])
    t = trace(p, "A GOOD <br/> zebra")
    assert t["raw"] == "A GOOD <br/> zebra"
    assert t["cleaned"].split() == ["a", "good", "zebra"]
    assert t["tokens"] == ["a", "good", "zebra"]
    assert t["ids"] == [p.stoi["a"], p.stoi["good"], UNK_ID]
    assert t["unknown"] == ["zebra"]
    json.dumps(t)


# --- batching -----------------------------------------------------------------------------------
def varied(n: int = 600, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(2, 100, size=int(rng.integers(1, 120))) for _ in range(n)]


def test_bucketing_by_length_cuts_padding():
    enc = varied()
    labels = np.zeros(len(enc), dtype=np.int64)
    plain = TextBatches(enc, labels, 16, shuffle=True, bucket=False).padding_fraction()
    bucketed = TextBatches(enc, labels, 16, shuffle=True, bucket=True).padding_fraction()
    assert plain > 0.3
    assert bucketed < 0.1
    assert bucketed < plain / 4


@pytest.mark.parametrize("bucket", [True, False])
@pytest.mark.parametrize("shuffle", [True, False])
def test_every_example_appears_exactly_once_per_epoch(bucket, shuffle):
    enc = varied(203)
    labels = np.arange(203)
    batches = TextBatches(enc, labels, 16, shuffle=shuffle, bucket=bucket, seed=3)
    for epoch in (1, 2):
        batches.set_epoch(epoch)
        seen = []
        for (ids, lengths), y in batches:
            for row, i in enumerate(y.tolist()):
                n = int(lengths[row])
                assert ids[row, :n].tolist() == enc[i].tolist()
                assert (ids[row, n:] == PAD_ID).all()
            seen += y.tolist()
        assert sorted(seen) == list(range(203))
    assert len(batches) == 13


def test_batches_are_shaped_for_the_models():
    enc = [np.array([5, 6, 7]), np.array([8]), np.array([9, 10])]
    (ids, lengths), y = next(iter(TextBatches(enc, np.array([0, 1, 0]), 8)))
    assert ids.dtype == torch.long and lengths.dtype == torch.long and y.dtype == torch.long
    assert ids.shape == (3, 3) and sorted(lengths.tolist()) == [1, 2, 3]


def test_different_epochs_shuffle_differently():
    batches = TextBatches(varied(300), np.zeros(300), 16, shuffle=True, bucket=True, seed=0)
    batches.set_epoch(1)
    first = np.concatenate(batches.batch_indices())
    batches.set_epoch(2)
    second = np.concatenate(batches.batch_indices())
    assert not np.array_equal(first, second)


def test_same_seed_gives_the_same_order():
    enc = varied(300)
    a = TextBatches(enc, np.zeros(300), 16, shuffle=True, bucket=True, seed=7)
    b = TextBatches(enc, np.zeros(300), 16, shuffle=True, bucket=True, seed=7)
    for epoch in (1, 2):
        a.set_epoch(epoch)
        b.set_epoch(epoch)
        assert all(np.array_equal(x, y) for x, y in zip(a.batch_indices(), b.batch_indices()))


def test_evaluation_batches_are_sorted_by_length_and_not_shuffled():
    enc = varied(100)
    batches = TextBatches(enc, np.zeros(100), 10, shuffle=False, bucket=True)
    order = np.concatenate(batches.batch_indices())
    lengths = [len(enc[i]) for i in order]
    assert lengths == sorted(lengths)
    batches.set_epoch(5)
    assert np.array_equal(order, np.concatenate(batches.batch_indices()))


TREEBANK_CASES = [
    '"Hello," she said. "It\'s (not) \'great\'... isn\'t it?"',
    "I can't; we cannot -- gonna wanna gimme lemme 'tis 'twas.",
    "It costs $5.00 (about 100%) at the U.S. store, e.g. a&b [really] {ok} <fine>!?",
    "Don't you'd've they'll she's I'm we're THEY'D Won't shan't",
    "``quoted'' text... and ellipsis.. end.",
    "multiple\nlines\tand  spaces ; colons : commas , semicolons",
]


@pytest.mark.parametrize("text", TREEBANK_CASES)
def test_fast_treebank_gives_the_same_tokens_as_nltk(text):
    from nltk.tokenize import TreebankWordTokenizer

    from bigmodel_core.data.text.pipeline import _make_tokenizer

    assert _make_tokenizer("treebank")(text) == TreebankWordTokenizer().tokenize(text)


def test_fast_treebank_matches_nltk_on_the_builtin_reviews():
    from nltk.tokenize import TreebankWordTokenizer

    from bigmodel_core.data.text.synthetic import generate_reviews
    from bigmodel_core.data.text.pipeline import _make_tokenizer

    fast, nltk_tok = _make_tokenizer("treebank"), TreebankWordTokenizer().tokenize
    texts, _ = generate_reviews(300, seed=4)
    assert [fast(t) for t in texts] == [nltk_tok(t) for t in texts]
