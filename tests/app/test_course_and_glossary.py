"""The course's "What is happening?" expanders and the glossary page, in English and in Chinese.

course.explain is drawn by a tiny script (AppTest.from_function) for every topic, with and without live values;
the glossary is opened like any page, from the home page.
"""
from __future__ import annotations

import re

import pytest
from apphelpers import charts
from streamlit.testing.v1 import AppTest

from ui import course, glossary

LANGS = ("en", "zh-CN")
# the topics whose expander carries a formula (the list), and how many pictures of each kind it has
WITH_FORMULA = {"forward_loss_gd", "rnn", "attention", "convolution", "quantization", "distillation"}
PLOTLY = {"data": 1, "forward_loss_gd": 2, "attention": 1, "convolution": 1, "embeddings": 1, "scale": 1, "pruning": 1,
          "quantization": 1, "distillation": 1}
HTML = {"distributed": 1, "rnn": 1, "pretraining": 1, "explain": 2, "deployment": 1}
FULL = dict(task="text", n_train=800, n_val=100, n_test=100, num_classes=2, lr=0.001, batch_size=32, cell="lstm",
            hidden=128, embed_dim=64, d_model=256, heads=4, kernel=3, in_size=28, stride=1, padding=1, channels=32,
            model="distilbert-base-uncased", params=1_234_567, layers=2, method="word2vec", dim=100, window=5,
            sparsity=0.5, bits=8, temperature=4.0, alpha=0.7, processes=3, axis="params", exponent=0.08, points=5,
            something_unknown=object())
ODD = dict(lr="fast", batch_size=None, hidden="", kernel=40, in_size=5, stride=0, padding=-1, sparsity=250,
           temperature=-2, alpha=3, bits=99, processes=0, cell="transformer", method="magic", exponent=float("nan"),
           num_classes=True, model=object(), params=-5, weights="not numbers")
KEY_LEFT = re.compile(r"\bcourse\.[a-z_]+\.[a-z_.]+")


def _explain_script(topic: str, live: dict) -> None:
    from ui import course

    course.explain(topic, **live)


def _run(topic: str, live: dict, lang: str) -> AppTest:
    at = AppTest.from_function(_explain_script, args=(topic, live), default_timeout=30)
    at.session_state["ui_lang"] = lang
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _latex(element) -> str:
    """The formula of an st.latex element (Streamlit wraps it in $$ ... $$)."""
    return element.value.strip().removeprefix("$$").removesuffix("$$").strip()


def _texts(at: AppTest) -> list[str]:
    return ([m.value for m in at.markdown] + [c.value for c in at.caption] + [e.label for e in at.expander]
            + [h.proto.body for h in at.get("html")])


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("topic", course.TOPICS)
def test_every_topic_draws_its_expander_with_and_without_live_values(topic, lang):
    for live in ({}, FULL):
        at = _run(topic, live, lang)
        assert len(at.expander) == 1
        box = at.expander[0]
        assert box.label.startswith("💡") and box.proto.expanded is False  # closed at first
        if topic in WITH_FORMULA:
            assert len(box.get("latex")) >= 1, f"{topic} has no formula"
            assert all(_latex(el) in course.FORMULAS[topic] for el in box.get("latex"))
        else:
            assert not box.get("latex")
        pictures = len(box.get("plotly_chart")) + len(box.get("html"))
        expected = PLOTLY.get(topic, 0) + HTML.get(topic, 0) * (3 if topic == "rnn" and not live else 1)
        assert pictures == expected, f"{topic}: a picture failed ({pictures} of {expected})"
        assert box.get("caption"), "each picture is explained in a caption"
        left = [k for text in _texts(at) for k in KEY_LEFT.findall(text)]
        assert not left, f"texts with no translation: {left}"
        if lang == "zh-CN":
            assert "这里发生了什么" in box.label
            assert re.search(r"[\u4e00-\u9fff]", at.markdown[0].value)  # the sentences are Chinese
        else:
            assert box.label.startswith("💡 What is happening?")


@pytest.mark.parametrize("topic", course.TOPICS)
def test_odd_live_values_are_ignored_not_fatal(topic):
    _run(topic, ODD, "en")


def test_live_values_show_in_the_sentences():
    at = _run("rnn", {"cell": "lstm", "hidden": 128, "embed_dim": 64}, "en")
    text = " ".join(m.value for m in at.markdown)
    assert "hidden size **128**" in text and "128-number vectors" in text
    assert [_latex(el) for el in at.latex] == [course.LSTM_GATES]  # only that cell's own gates
    at = _run("rnn", {"cell": "gru", "hidden": 32}, "zh-CN")
    assert [_latex(el) for el in at.latex] == [course.GRU_GATES]
    assert "32 个数" in " ".join(m.value for m in at.markdown)
    at = _run("convolution", {"kernel": 5, "stride": 2, "padding": 2, "in_size": 28, "channels": 8}, "en")
    assert "**14×14** output" in " ".join(m.value for m in at.markdown)
    at = _run("forward_loss_gd", {"lr": 1.5}, "en")
    assert "too big" in " ".join(m.value for m in at.markdown)
    at = _run("attention", {"d_model": 512, "heads": 8}, "en")
    assert "dₖ = **64**" in " ".join(m.value for m in at.markdown)


def test_quantization_uses_the_live_models_first_weight():
    import torch

    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    with torch.no_grad():
        model[0].weight.copy_(torch.linspace(-1.0, 2.0, 12).reshape(3, 4))
    at = _run("quantization", {"model": model, "params": 23}, "en")
    text = " ".join(m.value for m in at.markdown)
    assert "your model's first weight matrix" in text and "x_min = -1, x_max = 2" in text
    assert "s = **0.0118**" in text  # 3 / 255
    assert "Sequential" not in text  # a model object is not a name
    at = _run("quantization", {"weights": [0.0, 0.5, 1.0]}, "zh-CN")
    assert "对这些权重" in " ".join(m.value for m in at.markdown)


def test_the_pictures_follow_the_live_values():
    at = _run("forward_loss_gd", {"lr": 0.3}, "en")
    figs = charts(at)
    assert set(figs) >= {"course_gd", "course_softmax"}
    assert "η = 0.3" in figs["course_gd"]["layout"]["title"]["text"]
    assert figs["course_gd"]["layout"]["height"] <= 260
    at = _run("pruning", {"sparsity": 0.8}, "en")
    assert "80%" in charts(at)["course_pruning"]["layout"]["title"]["text"]
    at = _run("distillation", {"temperature": 8}, "en")
    assert "T = 8" in charts(at)["course_distillation"]["layout"]["title"]["text"]


def test_the_same_topic_twice_on_one_page():
    def script() -> None:
        from ui import course

        course.explain("scale")
        course.explain("scale")

    at = AppTest.from_function(script, default_timeout=30)
    at.run()
    assert not at.exception and len(at.expander) == 2 and len(at.get("plotly_chart")) == 2


def _glossary(lang: str = "en") -> AppTest:
    at = AppTest.from_file(str(_root() / "app.py"), default_timeout=60)
    at.session_state["ui_lang"] = lang
    at.run()
    at.switch_page("pages/11_Glossary.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _root():
    from pathlib import Path

    return Path(__file__).resolve().parents[2]


def _table_text(at: AppTest) -> str:
    return " ".join(m.value for m in at.main.markdown if m.value.startswith("|"))


def test_the_glossary_lists_every_term_in_both_languages():
    at = _glossary()
    assert at.title[0].value.endswith("Glossary")
    table = _table_text(at)
    assert "**Learning rate**" in table and "**学习率**" in table
    assert "How big a step each weight takes" in table and "每个权重每一步走多大" in table
    for entry in glossary.entries():
        assert f"**{entry.name_en}**" in table and f"**{entry.name_zh}**" in table
    assert len(glossary.TERMS) >= 50 and len(set(glossary.TERMS)) == len(glossary.TERMS)
    assert f"{len(glossary.TERMS)} of {len(glossary.TERMS)} terms" in [c.value for c in at.caption]


@pytest.mark.parametrize("query,term", [("learning", "learning_rate"), ("学习率", "learning_rate"), ("GATE", "gate"),
                                        ("zero point", "zero_point"), ("蒸馏", "distillation")])
def test_the_search_narrows_the_list_in_either_language(query, term):
    at = _glossary()
    at.text_input(key=glossary.SEARCH_KEY).input(query).run()
    assert not at.exception
    table = _table_text(at)
    found = glossary.search(query)
    assert term in [e.id for e in found] and len(found) < len(glossary.TERMS)
    names = [e.name_en for e in glossary.entries()]
    assert sum(f"**{n}**" in table for n in names) == len(found)
    assert f"**{glossary.entries()[glossary.TERMS.index(term)].name_en}**" in table


def test_a_search_with_no_match_says_so_in_chinese():
    at = _glossary("zh-CN")
    assert at.title[0].value.endswith("术语表")
    assert "英文术语" in _table_text(at)
    at.text_input(key=glossary.SEARCH_KEY).input("xyzzy").run()
    assert not _table_text(at) and "xyzzy" in at.info[0].value and "没有术语" in at.info[0].value


def test_every_glossary_term_has_a_name_and_a_text_in_both_languages():
    from ui import i18n

    for lang in LANGS:
        cat = i18n.catalog(lang)
        for term in glossary.TERMS:
            assert cat.get(f"glossary.{term}.name", "").strip() and cat.get(f"glossary.{term}.text", "").strip()
    zh = i18n.catalog("zh-CN")
    assert all(re.search(r"[\u4e00-\u9fff]", zh[f"glossary.{term}.text"]) for term in glossary.TERMS)
    expected = {"epoch", "batch", "learning_rate", "loss", "cross_entropy", "softmax", "gradient", "gradient_norm",
                "backpropagation", "optimizer", "adam", "sgd", "overfitting", "validation_set", "test_set", "accuracy",
                "embedding", "vocabulary", "token", "tokenizer", "word2vec", "glove", "rnn", "lstm", "gru", "gate",
                "hidden_size", "attention", "head", "transformer", "convolution", "kernel", "stride", "padding",
                "pooling", "fully_connected", "dropout", "parameter", "flops", "scaling_law", "pretraining",
                "fine_tuning", "frozen_layers", "distributed_training", "data_parallel", "mixed_precision", "pruning",
                "sparsity", "quantization", "int8", "scale", "zero_point", "distillation", "teacher", "student",
                "temperature", "onnx", "rest_api", "latency", "lime", "integrated_gradients", "saliency", "checkpoint",
                "resume"}
    assert not expected - set(glossary.TERMS)
