"""Model page: each architecture shows its size and its layers; changing a setting changes the size."""
import pytest
from apphelpers import SMALL_DATA, texts



def parameters(at) -> int:
    return int(next(m.value for m in at.metric if m.label == "Parameters").replace(",", ""))


@pytest.fixture
def model_page(open_page):
    return open_page("model", data_cfg=SMALL_DATA)


def test_lstm_is_the_default_choice(model_page):
    assert model_page.selectbox(key="model_name").value == "lstm"
    assert model_page.session_state["model_cfg"] == {"name": "lstm", "params": {}}


@pytest.mark.parametrize("name, layer_type", [("lstm", "LSTM"), ("bag_of_embeddings", "Embedding"),
                                              ("textcnn", "Conv1d"), ("transformer", "MultiheadAttention")])
def test_each_model_shows_parameters_and_a_layer_table(model_page, name, layer_type):
    at = model_page
    at.selectbox(key="model_name").set_value(name).run()
    assert not at.exception
    assert parameters(at) > 1000
    assert {m.label for m in at.metric} == {"Parameters", "Weight memory", "FLOPs per example"}
    layers = at.dataframe[0].value
    assert {"layer", "type", "output shape", "parameters"} <= set(layers.columns)
    assert any(layer_type in t for t in layers["type"]), list(layers["type"])
    assert layers["output shape"].iloc[-1] == "1 × 2"  # two classes out
    assert at.session_state["model_cfg"]["name"] == name


def test_a_bigger_hidden_state_means_more_parameters(model_page):
    at = model_page
    before = parameters(at)
    at.number_input(key="model_lstm_hidden").set_value(128).run()
    assert not at.exception
    after = parameters(at)
    assert after > before
    assert at.session_state["model_cfg"] == {"name": "lstm", "params": {"hidden": 128}}


def test_fewer_filter_widths_mean_fewer_parameters(model_page):
    at = model_page
    at.selectbox(key="model_name").set_value("textcnn").run()
    before = parameters(at)
    at.text_input(key="model_textcnn_widths").set_value("3,4").run()
    assert not at.exception
    assert parameters(at) < before
    assert at.session_state["model_cfg"]["params"] == {"widths": [3, 4]}


def test_settings_survive_a_visit_to_another_page(model_page):
    at = model_page
    at.number_input(key="model_lstm_hidden").set_value(32).run()
    changed = parameters(at)
    at.switch_page("pages/1_Data.py").run()
    at.switch_page("pages/2_Model.py").run()
    assert not at.exception
    assert at.number_input(key="model_lstm_hidden").value == 32
    assert parameters(at) == changed


def test_caption_names_the_data_the_model_is_sized_for(model_page):
    assert any("builtin:synthetic_reviews" in t and "2 classes" in t for t in texts(model_page.caption))
