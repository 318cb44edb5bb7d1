"""Registry tests for image models: every model registered for images is checked without a test of its own."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from bigmodel_core.errors import ConfigError
from bigmodel_core.models import create_model, list_models, summarize

IMAGE_MODELS = list_models(task="image")
SHAPES = [(1, 8), (3, 32)]  # grey 8x8 digits, colour 32x32 CIFAR-like


def _model(name, channels, size, classes=10, **params):
    torch.manual_seed(0)
    return create_model(name, {"in_channels": channels, "image_size": size, "num_classes": classes}, **params)


def test_registry_offers_the_image_families():
    assert {"mlp", "lenet", "convnet", "resnet"} <= set(IMAGE_MODELS)


@pytest.mark.parametrize("channels,size", SHAPES)
@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_image_model_gives_one_score_per_class_without_nan(name, channels, size):
    model = _model(name, channels, size).eval()
    out = model(torch.randn(5, channels, size, size))
    assert out.shape == (5, 10) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_image_model_loss_falls_on_a_tiny_batch_and_gradients_reach_the_first_layer(name):
    model = _model(name, 1, 8, classes=3).train()
    x, y = torch.randn(12, 1, 8, 8), torch.arange(12) % 3
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for step in range(40):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        if step == 0:
            first = loss.item()
            grads = [p.grad for p in model.parameters()]
            assert grads[0] is not None and grads[0].abs().sum() > 0
        opt.step()
    assert loss.item() < first * 0.5


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_image_model_saved_as_safetensors_predicts_the_same_after_loading(name, tmp_path):
    model = _model(name, 3, 32).eval()
    x = torch.randn(4, 3, 32, 32)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp_path / "w.safetensors"))
    again = _model(name, 3, 32)
    torch.manual_seed(123)  # a different init, then the saved weights
    again.load_state_dict(load_file(str(tmp_path / "w.safetensors")))
    assert torch.allclose(model(x), again.eval()(x))


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_image_model_summary_lists_layers_with_shapes_and_flops(name):
    model = _model(name, 1, 8)
    info = summarize(model, (torch.zeros(1, 1, 8, 8),))
    assert info["layers"] and all(r["output shape"] != "-" for r in info["layers"])
    assert info["total_parameters"] == sum(p.numel() for p in model.parameters())
    assert info["flops_per_example"] > 0


def test_convnet_width_is_set_by_the_user():
    small = _model("convnet", 1, 8)
    wide = create_model("convnet", {"in_channels": 1, "image_size": 8, "num_classes": 10}, block_channels=[8, 16, 32])
    assert sum(p.numel() for p in wide.parameters()) != sum(p.numel() for p in small.parameters())
    with pytest.raises(ConfigError):
        create_model("convnet", {"in_channels": 1, "image_size": 8, "num_classes": 10}, block_channels=[])


# --- the default image model at every image size the app accepts ---------------------------------

from bigmodel_core.models import default_model  # noqa: E402

DEFAULT_IMAGE_MODEL = default_model("image")  # what the app and the CLI pick for pictures
MAX_SIDE = 4096  # data/image_archives.py: the largest image side the app decodes
ACCEPTED_SHAPES = [(1, 2), (1, 8), (1, 28), (3, 32), (1, 64), (3, 96), (3, 224)]


def _convs(model):
    return [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]


@pytest.mark.parametrize("channels,size", ACCEPTED_SHAPES)
def test_default_image_model_gives_one_score_per_class_at_every_accepted_size(channels, size):
    model = _model(DEFAULT_IMAGE_MODEL, channels, size).eval()
    with torch.no_grad():
        out = model(torch.randn(2, channels, size, size))
    assert out.shape == (2, 10) and torch.isfinite(out).all()


@pytest.mark.parametrize("size", [2, 8, 16, 28, 32, 64, 96, 224, 256, 1024, MAX_SIDE])
def test_default_image_model_head_sees_the_whole_picture_and_stays_small(size):
    info = {"in_channels": 3, "image_size": size, "num_classes": 10}
    with torch.device("meta"):  # nothing allocated, even at 4096x4096
        model = create_model(DEFAULT_IMAGE_MODEL, info).eval()
        maps = model.features(torch.empty(1, 3, size, size))  # (1, width, side, side) before the head
    assert maps.shape[-1] <= 2  # so every averaged feature has looked at all of the picture
    assert sum(p.numel() for p in model.parameters()) < 400_000


def test_convnet_adds_blocks_after_the_users_widths_only_with_auto_depth():
    info = {"in_channels": 1, "image_size": 64, "num_classes": 10}
    auto = [c.out_channels for c in _convs(create_model("convnet", info, block_channels=[8, 16]))]
    exact = [c.out_channels for c in _convs(create_model("convnet", info, block_channels=[8, 16], auto_depth=False))]
    assert auto == [8, 16, 16, 16, 16] and exact == [8, 16]


def _quadrant_blobs(n: int, seed: int, size: int = 28) -> tuple[torch.Tensor, torch.Tensor]:
    """Noise with a bright 5x5 square somewhere inside one quadrant; the class is the quadrant (4 classes).

    Locally every square looks the same: only a model whose features see where in the picture
    it lies can tell the classes apart.
    """
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 4
    x = 0.3 * torch.randn(n, 1, size, size, generator=g)
    half = size // 2
    for i, label in enumerate(y.tolist()):
        r, c = (label // 2) * half, (label % 2) * half
        r += int(torch.randint(2, half - 7, (1,), generator=g))
        c += int(torch.randint(2, half - 7, (1,), generator=g))
        x[i, 0, r:r + 5, c:c + 5] += 2.0
    return x, y


def _test_accuracy_after_training(name: str, epochs: int = 4, **params) -> float:
    from bigmodel_core.config import TrainConfig

    x, y = _quadrant_blobs(160, seed=0)
    xt, yt = _quadrant_blobs(200, seed=1)
    model = _model(name, 1, 28, classes=4, **params)
    opt = torch.optim.Adam(model.parameters(), lr=TrainConfig().lr)  # the app's default rate
    order = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(y), generator=order).split(32):
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        return (model.eval()(xt).argmax(1) == yt).float().mean().item()


def test_default_image_model_learns_where_things_are_in_28x28_as_well_as_lenet():
    default, lenet = _test_accuracy_after_training(DEFAULT_IMAGE_MODEL), _test_accuracy_after_training("lenet")
    assert default >= 0.95 and default >= lenet


def test_convnet_without_auto_depth_cannot_tell_where_things_are_in_28x28():
    # two blocks see 10x10 pixels, then the head averages over the 7x7 map: position is lost (chance is 0.25)
    assert _test_accuracy_after_training("convnet", auto_depth=False) < 0.6


def test_a_convnet_run_saved_before_auto_depth_existed_still_loads_as_it_was_trained(tmp_path):
    import json

    from bigmodel_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from bigmodel_core.serve.bundle import load_bundle
    from bigmodel_core.training.run import train_run

    info = train_run(RunConfig(DataConfig(spec="builtin:digits", image_size=16, max_rows=200),
                               ModelConfig("convnet", {"auto_depth": False}), TrainConfig(epochs=1), name="old-convnet"),
                     home=tmp_path)
    record = json.loads((tmp_path / "runs" / "old-convnet" / "run.json").read_text())
    del record["model_params"]["auto_depth"]  # as an older version wrote it
    (tmp_path / "runs" / "old-convnet" / "run.json").write_text(json.dumps(record))
    predictor = load_bundle("old-convnet", home=tmp_path)
    assert predictor.predict_proba([np.zeros((16, 16, 1), dtype=np.uint8)]).shape == (1, 10)
    assert info.model_params["auto_depth"] is False
