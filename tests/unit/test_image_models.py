"""Registry tests for image models: every model registered for images is checked without a test of its own."""
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from bigmodel_core.errors import ConfigError
from bigmodel_core.models import create_model, list_models, summarize

IMAGE_MODELS = list_models(task="image")
SHAPES = [(1, 8), (3, 32)]  # grey 8x8 digits, colour 32x32 CIFAR-like


def _model(name, channels, size, classes=10):
    torch.manual_seed(0)
    return create_model(name, {"in_channels": channels, "image_size": size, "num_classes": classes})


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
