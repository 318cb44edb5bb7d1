"""Chinese text: the jieba tokenizer, the "auto" choice, and the built-in Chinese review set."""
from __future__ import annotations

import re
import time

import pytest

from bigmodel_core.config import DataConfig
from bigmodel_core.data.text.pipeline import TextPipeline, choose_tokenizer, trace
from bigmodel_core.data.text.synthetic import generate_reviews
from bigmodel_core.data.text.synthetic_zh import DESCRIPTION, generate_reviews_zh, sentiment_lexicon
from leaning import leaning, log_odds, reviews_with

ZH_SPEC = "builtin:synthetic_reviews_zh"


@pytest.fixture(scope="module")
def zh_set() -> tuple[list[str], list[str]]:
    return generate_reviews_zh()


# --- tokenizing -------------------------------------------------------------------------------------
def test_jieba_splits_a_chinese_sentence_into_words():
    toks = TextPipeline(DataConfig(tokenizer="jieba")).tokens("这部电影非常无聊")
    assert {"电影", "非常", "无聊"} <= set(toks)


def test_jieba_drops_spaces_and_lowercases_latin_letters_only():
    toks = TextPipeline(DataConfig(tokenizer="jieba")).tokens("这部 Movie  非常 好看")
    assert "movie" in toks and "好看" in toks
    assert not any(t.isspace() or t == "" for t in toks)


def test_jieba_keeps_its_cache_in_the_workspace_cache_not_beside_the_code():
    from pathlib import Path

    import jieba

    import bigmodel_core

    TextPipeline(DataConfig(tokenizer="jieba")).tokens("好看")
    assert jieba.dt.initialized  # once per process: later pipelines reuse it
    cache = Path(jieba.dt.tmp_dir)
    assert cache.name == "jieba" and cache.parent.name == "cache"  # BIGMODEL_HOME/cache/jieba
    assert Path(bigmodel_core.__file__).parent not in cache.parents


def test_auto_picks_jieba_for_chinese_and_treebank_for_english(zh_set):
    english, _ = generate_reviews(200, seed=3)
    assert choose_tokenizer(zh_set[0][:200]) == "jieba"
    assert choose_tokenizer(english) == "treebank"
    assert choose_tokenizer(["Great film, 很好"]) == "treebank"  # mostly Latin letters
    auto, treebank = TextPipeline(DataConfig(tokenizer="auto")), TextPipeline(DataConfig(tokenizer="treebank"))
    assert [auto.tokens(t) for t in english] == [treebank.tokens(t) for t in english]  # English unchanged
    assert auto.tokens("这部电影非常无聊") == TextPipeline(DataConfig(tokenizer="jieba")).tokens("这部电影非常无聊")
    assert trace(auto.fit(["好看"]), "这部电影不好")["tokenizer"] == "jieba"
    assert trace(auto, "not good")["tokenizer"] == "treebank"


def test_the_default_tokenizer_is_auto_and_a_saved_pipeline_reloads_the_same(zh_set):
    texts = zh_set[0][:300]
    for name in ("auto", "jieba"):
        p = TextPipeline(DataConfig(tokenizer=name)).fit(texts)
        q = TextPipeline.from_json(p.to_json())
        assert q.cfg.tokenizer == name == p.cfg.tokenizer
        assert [a.tolist() for a in q.encode(texts[:50])] == [a.tolist() for a in p.encode(texts[:50])]
    assert DataConfig().tokenizer == "auto"


# --- the built-in Chinese set -----------------------------------------------------------------------
def test_chinese_set_is_listed_seeded_fast_and_balanced():
    from bigmodel_core.data.dataset import list_datasets, load_dataset

    assert ZH_SPEC in {d["spec"] for d in list_datasets()}
    start = time.perf_counter()
    texts, labels = generate_reviews_zh()
    assert time.perf_counter() - start < 1.0
    assert 3000 <= len(texts) <= 6000 and labels.count("positive") == len(labels) // 2
    assert generate_reviews_zh(200, seed=5) == generate_reviews_zh(200, seed=5)
    assert generate_reviews_zh(200, seed=1) != generate_reviews_zh(200, seed=2)
    ds = load_dataset(DataConfig(spec=ZH_SPEC))
    assert ds.class_names == ["negative", "positive"] and len(ds.texts) == len(texts)
    assert "synthetic" in DESCRIPTION.lower() and "not real" in DESCRIPTION.lower()


def test_chinese_set_uses_negation_intensifiers_and_contrast(zh_set):
    texts, labels = zh_set
    assert sum("不" in t or "没有" in t for t in texts) > len(texts) * 0.3
    assert sum("很" in t or "非常" in t for t in texts) > len(texts) * 0.3
    assert sum("但是" in t for t in texts) > len(texts) * 0.15
    # with no 但是 every opinion composes to the label, so a negated word reads the other way
    plain = [(t, lab) for t, lab in zip(texts, labels) if "但是" not in t]
    for phrase, expected in [("不好。", "negative"), ("不差。", "positive"), ("一点也不无聊", "positive"),
                             ("没有让我失望", "positive"), ("并不精彩", "negative")]:
        found = [lab for t, lab in plain if phrase in t]
        assert len(found) >= 3 and set(found) == {expected}, phrase
    # with 但是 the clause after it decides: "开头很无聊，但是结尾非常精彩" reads positive
    one_sentence = [(t, lab) for t, lab in zip(texts, labels) if t.count("。") + t.count("！") == 1]
    for after, expected in [("(很|非常)(精彩|好看)", "positive"), ("(很|非常)(无聊|难看)", "negative")]:
        found = [lab for t, lab in one_sentence if re.search(f"但是[^不没]*{after}[。！]$", t)]
        assert len(found) >= 3 and set(found) == {expected}, after


def test_no_chinese_function_word_leans_to_a_class(zh_set):
    """不, 没有, 很, 非常, 但是, punctuation and subjects say nothing of the label: per-review counts of the
    tokens the app makes (jieba), log-odds with add-one smoothing; a lean counts when |log-odds| >= 0.3 and
    chance cannot explain it (|z| >= 4; chance alone reached |z| 3 at most on seeds 0-3)."""
    counts = reviews_with(*zh_set)
    lexicon = sentiment_lexicon()
    leans, tested = leaning(counts, lambda token: any(word in token for word in lexicon))  # "不好" too
    assert tested > 50 and leans == {}
    for token in ["不", "没有", "很", "非常", "但是", "，", "。", "电影", "让", "我"]:  # each in 400+ reviews
        pos, neg = counts["positive"][token], counts["negative"][token]
        assert pos + neg > 400 and abs(log_odds(pos, neg)) < 0.3, token


def test_an_lstm_learns_the_chinese_set_and_lime_shows_chinese_words():
    import torch

    from bigmodel_core.config import ModelConfig, RunConfig, TrainConfig
    from bigmodel_core.explain.lime_text import explain_text
    from bigmodel_core.serve.bundle import load_bundle
    from bigmodel_core.training.devices import torch_threads
    from bigmodel_core.training.run import train_run

    with torch_threads(torch.get_num_threads()):
        info = train_run(RunConfig(DataConfig(spec=ZH_SPEC), ModelConfig("lstm"),
                                   TrainConfig(epochs=4, seed=0, num_threads=1, device="cpu")))
    assert info.config.data.tokenizer == "auto"  # recorded as chosen: the saved run splits with the same rule
    assert info.metrics["val_accuracy"] >= 0.8
    predictor = load_bundle(info.id)
    assert predictor.pipeline.tokenizer_for("这部电影非常好") == "jieba"
    probs = predictor.predict_proba(["这部电影非常好", "这部电影不好"])
    names = list(predictor.class_names)
    assert names[int(probs[0].argmax())] == "positive"
    assert names[int(probs[1].argmax())] == "negative"
    # the clause after 但是 decides, and LIME highlights Chinese words, "很差" among the strongest
    exp = explain_text(predictor, "剧情一点也不无聊，但是结尾很差", num_samples=300, seed=0)
    assert exp.class_names[exp.label] == "negative"
    assert {"剧情", "不", "无聊", "但是", "结尾", "很差"} <= set(exp.tokens)
    assert "很差" in [word for word, _ in exp.top(k=3)], exp.top(k=4)


def test_an_uploaded_chinese_table_has_its_text_and_label_columns_found(tmp_path):
    """Chinese has no spaces between words: the text column is found by its characters, and Chinese column
    names count as the usual names."""
    import pandas as pd

    from bigmodel_core.data.text.synthetic_zh import generate_reviews_zh
    from bigmodel_core.data.text.tables import detect_columns

    texts, labels = generate_reviews_zh(60, seed=1)
    df = pd.DataFrame({"编号": [str(i) for i in range(60)], "评论": texts, "标签": labels})
    assert detect_columns(df) == ("评论", "标签")
    plain = pd.DataFrame({"a": [str(i) for i in range(60)], "b": texts, "c": labels})
    assert detect_columns(plain)[0] == "b"
