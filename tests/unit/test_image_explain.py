"""Image explanations point at the pixels that decide, are seeded, and the CNN's insides have the right shapes."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from threads import repeated_in_another_thread

from bigmodel_core.config import RunConfig
from bigmodel_core.data.images.batches import ImagePreprocess
from bigmodel_core.data.images.drawing import prepare_drawing
from bigmodel_core.errors import InputError
from bigmodel_core.explain.gradients import attribute_image
from bigmodel_core.explain.inside import (
    EXPLAINERS,
    conv_filters,
    feature_maps,
    layer_flow,
)
from bigmodel_core.explain.lime_image import explain_image, segment_image
from bigmodel_core.models import create_model, list_models
from bigmodel_core.runs.info import RunInfo
from bigmodel_core.serve.bundle import ImagePredictor

DIGITS = [str(i) for i in range(10)]


def make_predictor(model: nn.Module, preprocess: ImagePreprocess, classes: list[str]) -> ImagePredictor:
    info = RunInfo(id="t", task="image", config=RunConfig(), data_info={"class_names": classes}, model_params={})
    return ImagePredictor(model, preprocess, info, torch.device("cpu"))


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images * 255 / 16).round().astype(np.uint8)[..., None], d.target  # (N, 8, 8, 1), (N,)


@pytest.fixture(scope="module")
def lenet(digits) -> ImagePredictor:
    """LeNet trained for a few epochs on 1500 of scikit-learn's 8x8 digits (about 0.6 s)."""
    images, labels = digits
    torch.manual_seed(0)
    model = create_model("lenet", {"in_channels": 1, "image_size": 8, "num_classes": 10})
    pre = ImagePreprocess.fit(images[:1500])
    x, y = pre.to_tensor(images[:1500]), torch.as_tensor(labels[:1500])
    opt = torch.optim.Adam(model.parameters(), 5e-3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(6):
        for idx in torch.randperm(1500, generator=gen).split(64):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    opt.zero_grad()  # no gradients left on the weights, as after loading a run
    return make_predictor(model, pre, DIGITS)


class CornerModel(nn.Module):
    """Class 1's logit rises with the brightness of the top-left `k`x`k` block; nothing else counts."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.k = k
        self.gain = nn.Parameter(torch.tensor(8.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 1, S, S) in 0..1
        corner = x[:, 0, :self.k, :self.k].mean(dim=(1, 2))  # (N,)
        return torch.stack([torch.zeros_like(corner), self.gain * (corner - 0.5)], dim=1)  # (N, 2)


def corner_case(size: int, k: int) -> tuple[ImagePredictor, np.ndarray]:
    """The corner model and an image with a bright corner plus brighter distractor blobs elsewhere."""
    predictor = make_predictor(CornerModel(k), ImagePreprocess(size, 1, [0.0], [1.0]), ["no", "yes"])
    img = np.zeros((size, size, 1), dtype=np.uint8)
    img[:k, :k] = 255
    img[size // 2:size // 2 + k, size // 2:size // 2 + k] = 255
    img[-k:, 1:1 + k] = 255
    return predictor, img


@pytest.mark.parametrize("size, k", [(8, 2), (28, 4)])
def test_lime_puts_the_deciding_region_first(size, k):
    predictor, img = corner_case(size, k)
    exp = explain_image(predictor, img, num_samples=500, seed=0)
    assert exp.class_names[exp.label] == "yes"
    seg, weight = exp.top_segments(1)[0]
    assert exp.segments[0, 0] == seg and weight > 0.1
    others = [abs(w) for i, w in enumerate(exp.weights) if i != seg]
    assert max(others) < 0.2 * weight
    assert exp.heatmap[:k, :k].min() == exp.heatmap.max()
    assert exp.class_weights[0][seg] < 0  # the same region argues against "no"


@pytest.mark.parametrize("method", ["saliency", "ig", "gradxinput"])
def test_gradients_light_up_only_the_deciding_pixels(method):
    predictor, img = corner_case(8, 2)
    exp = attribute_image(predictor, img, method)
    assert exp.method == method and exp.heatmap.shape == (8, 8)
    assert exp.heatmap[:2, :2].min() == pytest.approx(1.0)
    rest = exp.heatmap.copy()
    rest[:2, :2] = 0
    assert np.abs(rest).max() == 0


def test_integrated_gradients_share_out_the_score():
    predictor, img = corner_case(8, 2)
    exp = attribute_image(predictor, img, "ig", baseline="black", steps=16)
    # completeness: the pixel scores add up to logit(image) - logit(black image) = 8 * (1 - 0)
    assert exp.heatmap.sum() * exp.scale == pytest.approx(8.0, rel=1e-3)


def test_lime_is_repeatable_with_a_seed(lenet, digits):
    img = digits[0][1700]
    a = explain_image(lenet, img, num_samples=300, seed=3)
    b = explain_image(lenet, img, num_samples=300, seed=3)
    c = explain_image(lenet, img, num_samples=300, seed=4)
    assert a.weights == b.weights and np.array_equal(a.heatmap, b.heatmap)
    assert a.weights != c.weights


def test_hiding_the_top_regions_hurts_the_prediction_most(lenet, digits):
    img = digits[0][1700]
    exp = explain_image(lenet, img, num_samples=1000, seed=0)
    order = np.argsort(exp.weights)
    p = lenet.predict_proba([img])[0][exp.label]
    top_hidden = np.where(np.isin(exp.segments, order[-3:])[..., None], 0, img).astype(np.uint8)
    low_hidden = np.where(np.isin(exp.segments, order[:3])[..., None], 0, img).astype(np.uint8)
    drop_top = p - lenet.predict_proba([top_hidden])[0][exp.label]
    drop_low = p - lenet.predict_proba([low_hidden])[0][exp.label]
    assert drop_top > drop_low and drop_top > 0.2


def test_a_chosen_class_is_explained_and_the_result_is_json(lenet, digits):
    img = digits[0][1700]
    exp = explain_image(lenet, img, num_samples=200, seed=0, label="3")
    assert exp.label == 3 and len(exp.class_weights) == 10
    data = json.loads(json.dumps(exp.to_dict()))
    assert data["label"] == "3" and len(data["heatmap"]) == 8 and len(data["weights"]) == exp.segments.max() + 1
    sal = json.loads(json.dumps(attribute_image(lenet, img, "saliency", label=3).to_dict()))
    assert sal["segments"] is None and sal["signed"] is False


def test_small_images_get_a_grid_and_larger_ones_follow_the_strokes():
    grid = segment_image(np.zeros((8, 8, 1), np.uint8))
    assert grid.max() + 1 == 16 and (np.bincount(grid.ravel()) == 4).all()
    one = prepare_drawing(np.pad(np.full((200, 20, 4), 255, np.uint8), ((40, 40), (130, 130), (0, 0))), 28, 1)
    seg = segment_image(one)
    assert 20 <= seg.max() + 1 <= 70 and set(np.unique(seg)) == set(range(seg.max() + 1))


@pytest.mark.parametrize("bad, match", [({"method": "smoothgrad"}, "gradxinput, ig, saliency"),
                                        ({"method": "ig", "baseline": "grey"}, "black, white"),
                                        ({"label": "eleven"}, "one of")])
def test_bad_choices_are_plain_errors(lenet, digits, bad, match):
    with pytest.raises(InputError) as err:
        attribute_image(lenet, digits[0][0], **bad)
    assert match in err.value.hint


def test_an_image_of_the_wrong_size_is_a_plain_error(lenet):
    with pytest.raises(InputError, match="28x28x1"):
        explain_image(lenet, np.zeros((28, 28, 1), np.uint8))


def test_attribution_leaves_the_model_as_it_was(lenet, digits):
    params = list(lenet.model.parameters())
    params[0].requires_grad_(False)  # e.g. a frozen first layer
    try:
        attribute_image(lenet, digits[0][5], "ig", steps=8)
        assert not lenet.model.training
        assert [p.requires_grad for p in params] == [False] + [True] * (len(params) - 1)
        assert all(p.grad is None for p in params)
    finally:
        params[0].requires_grad_(True)


def test_drawn_digits_are_read_like_the_training_digits(lenet, digits):
    images, labels = digits
    same = []
    for small in images[1500:1600, :, :, 0]:
        big = np.asarray(Image.fromarray(small).resize((200, 200), Image.Resampling.BILINEAR))  # a smooth, big digit
        canvas = np.zeros((280, 280, 4), np.uint8)
        canvas[..., 3] = 255
        canvas[40:240, 40:240, :3] = big[..., None]
        drawn = prepare_drawing(canvas, 8, 1)
        same.append(lenet.predict_proba([drawn]).argmax() == lenet.predict_proba([small[..., None]]).argmax())
    assert np.mean(same) >= 0.85  # measured 0.93 (the model's own accuracy is about 0.92)


def test_feature_maps_follow_lenet_layer_by_layer(lenet, digits):
    maps = feature_maps(lenet, digits[0][0])
    got = [(m["type"], m["shape"]) for m in maps]
    assert got == [("Conv2d", (6, 8, 8)), ("ReLU", (6, 8, 8)), ("MaxPool2d", (6, 4, 4)),
                   ("Conv2d", (16, 4, 4)), ("ReLU", (16, 4, 4)), ("MaxPool2d", (16, 2, 2)),
                   ("Flatten", (64,)), ("Linear", (120,)), ("ReLU", (120,)),  # dropout is not shown
                   ("Linear", (84,)), ("ReLU", (84,)), ("Linear", (10,))]
    with torch.no_grad():
        logits = lenet.model(lenet.to_input([digits[0][0]]))[0].numpy()
    assert np.allclose(maps[-1]["maps"], logits, atol=1e-5)
    assert sum(m["parameters"] for m in maps) == sum(p.numel() for p in lenet.model.parameters())


@pytest.mark.parametrize("name", list_models("image"))
def test_every_layer_of_every_image_model_has_a_plain_explanation(name):
    model = create_model(name, {"in_channels": 1, "image_size": 8, "num_classes": 10}).eval()
    predictor = make_predictor(model, ImagePreprocess(8, 1, [0.5], [0.5]), DIGITS)
    maps = feature_maps(predictor, np.zeros((8, 8, 1), np.uint8))
    assert maps[-1]["shape"] == (10,)
    assert all(m["type"] in EXPLAINERS for m in maps), [m["type"] for m in maps if m["type"] not in EXPLAINERS]
    assert len(layer_flow(predictor)) >= len({m["layer"].split(" ")[0] for m in maps})


def test_resnet_shows_its_shortcuts():
    model = create_model("resnet", {"in_channels": 1, "image_size": 8, "num_classes": 10}).eval()
    maps = feature_maps(make_predictor(model, ImagePreprocess(8, 1, [0.5], [0.5]), DIGITS), np.zeros((8, 8, 1), np.uint8))
    kinds = [m["type"] for m in maps]
    assert kinds.count("Shortcut") == 1 and kinds.count("Residual add + ReLU") == 2  # identity + projection block
    add = kinds.index("Residual add + ReLU")
    assert maps[add]["layer"] == "features.0.relu (call 2)" and maps[add - 1]["type"] == "Shortcut"


def test_conv_filters_are_listed_with_their_shapes(lenet):
    filters = conv_filters(lenet)
    assert [f["layer"] for f in filters] == ["features.0", "features.3"]
    assert [f["shape"] for f in filters] == [(6, 1, 5, 5), (16, 6, 5, 5)]
    assert [f["parameters"] for f in filters] == [6 * 25 + 6, 16 * 6 * 25 + 16]
    assert conv_filters(create_model("mlp", {"in_channels": 1, "image_size": 8, "num_classes": 10})) == []


def test_layer_flow_lists_output_shapes(lenet):
    flow = layer_flow(lenet)
    assert flow[0] == {"layer": "features.0", "type": "Conv2d", "output shape": "1 × 6 × 8 × 8", "parameters": 156}
    assert flow[-1]["output shape"] == "1 × 10"


def test_feature_maps_taken_while_another_thread_predicts_hold_only_their_own_image(lenet, digits):
    """Every session shares a run's predictor; another's predictions must not land in these maps."""
    alone = feature_maps(lenet, digits[0][0])
    images = list(digits[0][:64])
    expected = lenet.predict_proba(images)

    def predict() -> None:
        np.testing.assert_allclose(lenet.predict_proba(images), expected, atol=1e-6)

    with repeated_in_another_thread(predict):
        for _ in range(40):
            rows = feature_maps(lenet, digits[0][0])
            assert [r["layer"] for r in rows] == [r["layer"] for r in alone]
            assert all(np.array_equal(r["maps"], a["maps"]) for r, a in zip(rows, alone))
