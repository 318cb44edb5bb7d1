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
    assert model_page.session_state["model_cfg"] == {"name": "lstm", "params": {}, "embeddings": None,
                                                     "freeze_embeddings": False}


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
    assert at.session_state["model_cfg"]["params"] == {"hidden": 128}


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


def _vector_set(workspace, words, dim=8, set_id="class-vectors"):
    import numpy as np

    from bigmodel_core.embeddings.sets import save_vector_set

    matrix = np.random.default_rng(0).standard_normal((len(words), dim)).astype("float32")
    return save_vector_set(words, matrix, {"id": set_id, "kind": "test", "title": "Class vectors", "source": "test"},
                           home=workspace)["id"]


def test_without_word_vectors_the_page_points_to_the_embeddings_page(model_page):
    at = model_page
    assert at.selectbox(key="model_vectors").value == ""
    assert any("no word vectors yet" in t for t in texts(at.caption))
    assert "Go to Embeddings" in [link.proto.label for link in at.main.get("page_link")]


def test_chosen_word_vectors_show_vocabulary_coverage_and_fix_the_width(open_page, workspace):
    vectors = _vector_set(workspace, ["good", "bad", "film", "boring", "not", "zebra"], dim=8)
    at = open_page("model", data_cfg=SMALL_DATA)
    at.selectbox(key="model_vectors").set_value(vectors).run()
    assert not at.exception, [e.value for e in at.exception]
    coverage = next(m for m in at.metric if m.label == "Vocabulary coverage")
    found = int(float(coverage.value.rstrip("%")) / 100 * 10_000)
    assert 0 < found < 10_000  # some words have a vector, most do not
    assert any("without a vector" in t for t in texts(at.caption))
    assert at.text_input(key="model_lstm_embed_dim_fixed_8").value == "8"  # the width follows the vectors
    layers = at.dataframe[0].value
    assert layers["output shape"].iloc[0].endswith("× 8")  # the embedding layer is 8 wide
    assert at.session_state["model_cfg"]["embeddings"] == vectors
    at.checkbox(key="model_freeze_vectors").check().run()
    assert at.session_state["model_cfg"]["freeze_embeddings"] is True


def test_deleted_word_vectors_fall_back_to_random_with_a_warning(open_page, workspace):
    vectors = _vector_set(workspace, ["good", "bad"], dim=8, set_id="gone-soon")
    at = open_page("model", data_cfg=SMALL_DATA, model_cfg={"name": "lstm", "params": {}, "embeddings": vectors})
    import shutil

    shutil.rmtree(workspace / "vectors" / vectors)
    at.run()
    assert not at.exception
    assert any("are gone" in w.value for w in at.warning)
    assert at.session_state["model_cfg"]["embeddings"] is None


def test_switching_vector_sets_updates_the_fixed_width_and_a_transformer_gets_fitting_heads(open_page, workspace):
    eight = _vector_set(workspace, ["good", "bad", "film"], dim=8, set_id="eight")
    fifty = _vector_set(workspace, ["good", "bad", "film"], dim=50, set_id="fifty")
    at = open_page("model", data_cfg=SMALL_DATA)
    at.selectbox(key="model_vectors").set_value(eight).run()
    assert at.text_input(key="model_lstm_embed_dim_fixed_8").value == "8"
    at.selectbox(key="model_vectors").set_value(fifty).run()
    assert at.text_input(key="model_lstm_embed_dim_fixed_50").value == "50"
    at.selectbox(key="model_name").set_value("transformer").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.text_input(key="model_transformer_heads_fixed_2").value == "2"  # 4 heads cannot split 50
    assert "cannot split 50-wide vectors" in at.text_input(key="model_transformer_heads_fixed_2").help
