"""Images in the app: the digits and uploaded pictures on the Data page, an image model on the Model page,
training on digits with its mistakes, predicting a picture with three explanations, and Inside the CNN."""
from __future__ import annotations

import io
import re
import shutil
import zipfile

import numpy as np
import pytest
from apphelpers import SMALL_MODEL, charts, plotly_array, texts
from PIL import Image

from bigmodel_core.explain.inside import EXPLAINERS

INSIDE = "pages/5_Inside_the_CNN.py"
DIGITS = [str(d) for d in range(10)]
VERDICT = re.compile(r"### Prediction: \*\*(\w+)\*\*")


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def image_captions(at) -> list[list[str]]:
    """The captions of every st.image call on the page, one list per call."""
    return [img.captions for img in at.image]


def png(value: int, side: int = 12) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (side, side), value).save(buffer, format="PNG")
    return buffer.getvalue()


def write_zip(path, files: dict[str, bytes]):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name), data)
    return path


@pytest.fixture
def image_data_page(open_page):
    """The Data page after the user switched 'What will the network learn from?' to images."""
    at = open_page("data")
    at.radio(key="data_kind").set_value("image").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture(scope="module")
def lenet_run_dir(tmp_path_factory):
    """A tiny LeNet trained once on 400 digits (about 2 s); tests copy it into their own workspace."""
    from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from bigmodel_core.training.run import train_run

    home = tmp_path_factory.mktemp("image_run_home")
    info = train_run(RunConfig(DataConfig("builtin:digits", max_rows=400), ModelConfig("lenet"), TrainConfig(epochs=2),
                               name="tiny-lenet"), home=home)
    return home / "runs" / info.id


@pytest.fixture
def image_run(lenet_run_dir, workspace) -> str:
    shutil.copytree(lenet_run_dir, workspace / "runs" / lenet_run_dir.name)
    return lenet_run_dir.name


@pytest.fixture
def predict_test_image(open_page, image_run):
    """The Predict page with the image run, showing the first image of the run's test split."""
    at = open_page("predict")
    at.radio(key="predict_image_source").set_value("test").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


# --- Data page ----------------------------------------------------------------------------------
def test_choosing_images_shows_the_builtin_digits_at_a_glance(image_data_page):
    at = image_data_page
    m = metrics(at)
    assert (m["Images"], m["Classes"], m["Image size"]) == ("1,797", "10", "8×8×1")
    assert m["Train / val / test"] == "1,437 / 180 / 180"
    assert at.radio(key="data_image_source").value == "builtin"
    assert any("handwritten digits" in t and "8×8" in t for t in texts(at.info))
    assert at.session_state["data_cfg"]["spec"] == "builtin:digits"


def test_digits_show_examples_of_every_class_and_the_class_balance(image_data_page):
    at = image_data_page
    assert "Examples of each class" in texts(at.subheader)
    assert image_captions(at) == [[d] * 8 for d in DIGITS]  # one row of 8 examples per digit
    balance = charts(at)["data_balance"]["data"][0]
    assert sorted(balance["x"]) == DIGITS and sum(balance["y"]) == 1797
    assert "Augmentation preview" not in texts(at.subheader)  # augmentation is off by default


def test_turning_on_augmentation_shows_a_before_and_after_preview(image_data_page):
    at = image_data_page
    at.number_input(key="data_aug_shift").set_value(2).run()
    assert not at.exception
    assert "Augmentation preview" in texts(at.subheader)
    before, after = at.image[-2], at.image[-1]
    assert len(before.value) == len(after.value) == 8
    assert before.value != after.value  # the shifted images are other pictures
    assert at.session_state["data_cfg"]["augment_shift"] == 2


def test_an_uploaded_zip_of_class_folders_is_read_with_its_classes(open_page, tmp_path):
    files = {f"pictures/{name}/{i}.png": png(value + i) for name, value in (("dark", 20), ("light", 230), ("mid", 128))
             for i in range(8)}
    archive = write_zip(tmp_path / "shades.zip", files)
    at = open_page("data", data_cfg={"spec": f"folder:{archive}"})
    assert at.radio(key="data_kind").value == "image" and at.radio(key="data_image_source").value == "upload"
    m = metrics(at)
    assert (m["Images"], m["Classes"], m["Image size"]) == ("24", "3", "12×12×1")
    assert any("shades.zip" in t and "3 class folders" in t for t in texts(at.caption))
    assert sorted(charts(at)["data_balance"]["data"][0]["x"]) == ["dark", "light", "mid"]
    assert image_captions(at) == [[name] * 8 for name in ("dark", "light", "mid")]


def test_an_uploaded_npz_is_read_with_its_classes(open_page, tmp_path):
    rng = np.random.default_rng(0)
    arrays = tmp_path / "arrays.npz"
    np.savez(arrays, images=rng.integers(0, 256, (50, 10, 10), dtype=np.uint8), labels=np.array(["cat", "dog"] * 25))
    at = open_page("data", data_cfg={"spec": f"npz:{arrays}"})
    m = metrics(at)
    assert (m["Images"], m["Classes"], m["Image size"]) == ("50", "2", "10×10×1")
    assert any("arrays.npz" in t for t in texts(at.caption))
    balance = charts(at)["data_balance"]["data"][0]
    assert sorted(balance["x"]) == ["cat", "dog"] and balance["y"] == [25, 25]


@pytest.mark.parametrize("files, message, hint", [
    ({f"cats/{i}.png": png(10 * i) for i in range(5)},
     "All images of bad.zip are in one class folder ('cats'), so there is nothing to tell apart.",
     "Add a folder of images of at least one other class next to it."),
    ({"cats/1.png": png(10), "dogs/1.png": png(200), "../../outside.png": png(30)},
     "The zip 'bad.zip' holds an entry named '../../outside.png' that points outside the archive, so none of it was read.",
     "Make a new zip of the class folders (one folder per class) and upload that."),
], ids=["one-class", "zip-slip"])
def test_a_bad_zip_is_a_plain_error_with_a_hint(open_page, tmp_path, files, message, hint):
    archive = write_zip(tmp_path / "bad.zip", files)
    at = open_page("data", data_cfg={"spec": f"folder:{archive}"})
    assert not at.exception
    assert texts(at.error) == [message]
    assert texts(at.info) == [hint]
    assert all(e.label != "Technical details" for e in at.expander)  # a user mistake, not a bug
    assert not at.metric and not at.image
    assert not (tmp_path / "outside.png").exists() and not (tmp_path.parent / "outside.png").exists()


# --- Model page ---------------------------------------------------------------------------------
def test_image_data_gets_an_image_model_by_default(image_data_page):
    at = image_data_page
    at.session_state["model_cfg"] = SMALL_MODEL  # an LSTM chosen earlier for text does not fit pictures
    at.switch_page("pages/2_Model.py").run()
    assert not at.exception
    pick = at.selectbox(key="model_name")
    assert pick.value == "convnet"
    assert "lstm" not in pick.options and any(o.startswith("lenet") for o in pick.options)
    assert int(metrics(at)["Parameters"].replace(",", "")) > 1000
    assert at.dataframe[0].value["output shape"].iloc[-1] == "1 × 10"  # ten digits out
    assert any("builtin:digits" in t and "8×8×1 images" in t and "10 classes" in t for t in texts(at.caption))
    assert at.session_state["model_cfg"]["name"] == "convnet"


def test_lenet_shows_its_convolution_and_pooling_layers(open_page):
    at = open_page("model", data_cfg={"spec": "builtin:digits"})
    at.selectbox(key="model_name").set_value("lenet").run()
    assert not at.exception
    layers = at.dataframe[0].value
    assert list(layers["type"]).count("Conv2d") == 2 and "MaxPool2d" in list(layers["type"])
    first_conv = layers[layers["type"] == "Conv2d"].iloc[0]
    assert first_conv["output shape"] == "1 × 6 × 8 × 8" and first_conv["parameters"] == 156  # 6 filters of 5×5 + bias
    assert int(metrics(at)["Parameters"].replace(",", "")) == layers["parameters"].sum()


# --- Train page ---------------------------------------------------------------------------------
def test_training_on_digits_finishes_and_shows_the_mistaken_images(open_page, poll):
    at = open_page("train", data_cfg={"spec": "builtin:digits", "max_rows": 400}, model_cfg=SMALL_MODEL,
                   train_cfg={"epochs": 2})
    assert any("builtin:digits" in t and "convnet" in t for t in texts(at.caption))  # not the text model
    at.button(key="train_start").click().run()
    poll(at, lambda a: bool(a.success or a.warning or a.error), timeout=90)
    at.run()
    [success] = texts(at.success)
    assert success.startswith("Finished: validation accuracy")
    from ui import state

    info = state.job_manager().get(at.session_state["train_job"]).result
    assert info.task == "image" and info.model_name == "convnet"
    if not info.misclassified:
        assert "No validation image was misclassified." in texts(at.info)
        return
    [cell] = [s for s in at.selectbox if (s.key or "").startswith("train_cell_")]
    assert re.fullmatch(r"true \d → predicted \d", cell.value)
    [thumbs] = [img for img in at.image if all(c.endswith("% sure") for c in img.captions)]
    wanted = sum(1 for r in info.misclassified if cell.value == f"true {r['true']} → predicted {r['predicted']}")
    assert len(thumbs.captions) == wanted  # one thumbnail per mistaken image of that cell
    assert at.session_state["predict_run"] == info.id


def test_the_results_of_an_image_run_are_worded_for_pictures(open_page, poll):
    at = open_page("train", data_cfg={"spec": "builtin:digits", "max_rows": 400}, train_cfg={"epochs": 2})
    at.button(key="train_start").click().run()
    poll(at, lambda a: bool(a.success or a.warning or a.error), timeout=90)
    at.run()
    [cell] = [s for s in at.selectbox if (s.key or "").startswith("train_cell_")]
    singles = [o for o in cell.options if re.search(r"\(1 images?\)$", o)]
    assert singles, cell.options  # 400 digits after 2 epochs leave some cells with a single mistake
    assert all(o.endswith("(1 image)") for o in singles), singles
    links = [link.proto.label for link in at.main.get("page_link")]
    assert links and not any("sentences" in label for label in links), links


# --- Predict page -------------------------------------------------------------------------------
def test_the_drawing_canvas_asks_for_a_digit(open_page, image_run):
    at = open_page("predict")
    assert at.selectbox(key="predict_run_pick").value == image_run
    assert at.radio(key="predict_image_source").value == "draw"
    assert "Draw a digit on the black square." in texts(at.info)  # AppTest cannot draw: the canvas is empty
    assert not any(t.startswith("### Prediction:") for t in texts(at.markdown))
    assert not at.error


def test_a_test_image_gets_a_prediction_and_three_explanations(predict_test_image):
    at = predict_test_image
    [verdict] = [t for t in texts(at.markdown) if t.startswith("### Prediction:")]
    label = VERDICT.fullmatch(verdict).group(1)
    assert label in DIGITS
    assert any(re.fullmatch(r"The true class of this image is \*\*\d\*\*\.", t) for t in texts(at.caption))
    assert ["What the model sees (8×8)"] in image_captions(at)
    figs = charts(at)
    top = figs["predict_top3"]["data"][0]
    assert len(top["y"]) == 3 and top["y"][top["x"].index(max(top["x"]))] == label  # the verdict is the likeliest
    assert 0 < sum(top["x"]) <= 1 + 1e-6
    titles = {"lime": "LIME (superpixels)", "saliency": "Gradient saliency", "ig": "Integrated Gradients"}
    for key, title in titles.items():
        fig = figs[f"predict_overlay_{key}"]
        assert fig["layout"]["title"]["text"] == title
        picture, heat = fig["data"]
        assert plotly_array(picture["z"]).shape == plotly_array(heat["z"]).shape == (8, 8)
        assert np.abs(plotly_array(heat["z"])).max() > 0  # some pixels mattered
    assert at.selectbox(key="predict_img_label").value == label  # the predicted class is explained


def test_explaining_another_class_changes_the_overlays(predict_test_image):
    at = predict_test_image
    before = plotly_array(charts(at)["predict_overlay_ig"]["data"][1]["z"])
    label = at.selectbox(key="predict_img_label").value
    other = next(d for d in DIGITS if d != label)
    at.selectbox(key="predict_img_label").set_value(other).run()
    assert not at.exception
    assert not np.allclose(plotly_array(charts(at)["predict_overlay_ig"]["data"][1]["z"]), before)
    assert any(VERDICT.fullmatch(t) and VERDICT.fullmatch(t).group(1) == label for t in texts(at.markdown))


# --- Inside the CNN -----------------------------------------------------------------------------
def test_inside_the_cnn_without_an_image_run_says_train_one(open_page, trained_run):
    trained_run("tiny-lstm")  # a text run does not count
    at = open_page()
    at.switch_page(INSIDE).run()
    assert not at.exception
    assert texts(at.info) == ["There is no trained image model yet. Pick images on the Data page, then train one."]
    assert [link.proto.page for link in at.main.get("page_link")] == ["Data"]


def test_inside_the_cnn_follows_the_predict_picture_through_every_layer(predict_test_image):
    at = predict_test_image
    at.slider(key="predict_test_index").set_value(5).run()
    label = VERDICT.fullmatch(next(t for t in texts(at.markdown) if t.startswith("### Prediction:"))).group(1)
    at.switch_page(INSIDE).run()
    assert not at.exception
    assert at.radio(key="inside_source").value == "drawn"  # the picture from the Predict page
    md = texts(at.markdown)
    assert any(re.fullmatch(rf"### The model says: \*\*{label}\*\* \(\d+%\)", t) for t in md), md
    for kind, shape in (("Conv2d", "6 × 8 × 8"), ("ReLU", "6 × 8 × 8"), ("MaxPool2d", "6 × 4 × 4")):
        assert any(f"· {kind} · output {shape}" in t for t in md), (kind, md)
        assert EXPLAINERS[kind] in texts(at.caption)
    maps = [c for c in image_captions(at) if c and c[0] == "map 0"]
    assert [len(c) for c in maps[:3]] == [6, 6, 6]  # one picture per feature map of the first three layers
    assert any("6 filters of 5×5 pixels" in t for t in md) and any("16 filters of 5×5 pixels" in t for t in md)
    filters = [c for c in image_captions(at) if c and c[0] == "#0"]
    assert [len(c) for c in filters] == [6, 16]  # the learned filters of both convolutions, as pictures
