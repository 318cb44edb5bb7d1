"""Image classifiers: MLP, LeNet-5, a configurable ConvNet and a small ResNet."""
from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError, msg
from ..settings import Setting
from ._registry import register_model


class MLP(nn.Module):
    """Flattens the pixels and feeds them through fully connected layers (no notion of 'nearby')."""

    def __init__(self, in_channels: int, image_size: int, num_classes: int, hidden: list[int], dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_channels * image_size * image_size
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(dropout)]
            width = h
        layers.append(nn.Linear(width, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (batch, channels, size, size)
        return self.net(x)


class LeNet(nn.Module):
    """LeNet-5 (LeCun et al. 1998): two conv + pool stages, then three fully connected layers."""

    def __init__(self, in_channels: int, image_size: int, num_classes: int, dropout: float) -> None:
        super().__init__()
        # 'same' padding keeps tiny images (8x8 digits) big enough for both pooling stages
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2))
        side = image_size // 4
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * side * side, 120), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


# Auto depth adds blocks until the map before the head is at most HEAD_SIDE wide, so that every
# feature the head averages has seen the whole picture: two blocks see 10x10 pixels, all of an
# 8x8 digit but only a corner of a 28x28 one. Added blocks keep the last width, so the parameter
# count grows by one block per doubling of the image side.
HEAD_SIDE = 2


def fitted_channels(channels: list[int], image_size: int) -> list[int]:
    """`channels`, plus blocks of the last width until an `image_size` picture is pooled to HEAD_SIDE or less."""
    out, side = list(channels), image_size
    for _ in out:
        side = side // 2 if side >= 2 else side
    while side > HEAD_SIDE:
        out.append(out[-1])
        side //= 2
    return out


class ConvNet(nn.Module):
    """Blocks of conv -> batch-norm -> ReLU -> pool, then global average pooling and one linear layer."""

    def __init__(self, in_channels: int, image_size: int, num_classes: int, channels: list[int], dropout: float) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        side, width = image_size, in_channels
        for c in channels:
            pool = side >= 2
            blocks.append(nn.Sequential(nn.Conv2d(width, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU(),
                                        nn.MaxPool2d(2) if pool else nn.Identity()))
            side, width = side // 2 if pool else side, c
        self.features = nn.Sequential(*blocks)  # (batch, width, side, side)
        self.classifier = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
                                        nn.Linear(width, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class BasicBlock(nn.Module):
    """Two 3x3 convs with a shortcut (He et al. 2016): the block learns a correction to its input."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.shortcut = nn.Identity() if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, width: int, stages: int, blocks_per_stage: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        layers, cin = [], width
        for s in range(stages):
            cout = width * 2 ** s
            for b in range(blocks_per_stage):
                layers.append(BasicBlock(cin, cout, stride=2 if s > 0 and b == 0 else 1))
                cin = cout
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(self.stem(x)))


@register_model("image", "MLP", msg("engine.models.mlp.description",
                    "Fully connected network on raw pixels: the baseline CNNs beat."),
                settings={"hidden": Setting(list, 1, 4096, max_items=6)})
def mlp(in_channels: int, image_size: int, num_classes: int, hidden: tuple = (128, 64), dropout: float = 0.2) -> nn.Module:
    return MLP(in_channels, image_size, num_classes, list(hidden), dropout)


@register_model("image", "LeNet", msg("engine.models.lenet.description",
                    "LeNet-5: the classic digit reader, two convolution + pooling stages."))
def lenet(in_channels: int, image_size: int, num_classes: int, dropout: float = 0.1) -> nn.Module:
    if image_size < 4:
        raise ConfigError(msg("errors.cnn.lenet_small", "LeNet needs images of at least 4x4 pixels, not {size}x{size}.",
                              size=image_size),
                          msg("errors.cnn.lenet_small.hint", "Choose a larger image size on the Data page."))
    return LeNet(in_channels, image_size, num_classes, dropout)


@register_model("image", "ConvNet", msg("engine.models.convnet.description",
                    "Your own CNN: conv → batch-norm → ReLU → pool blocks of the widths you choose; "
                    "auto depth adds blocks for bigger pictures until they are shrunk to 2×2."),
                settings={"auto_depth": Setting(bool, help=msg(
                    "engine.models.setting.auto_depth.help",
                    "Add blocks of the last width until the picture is pooled down to 2x2, "
                    "so the net sees all of it."))},
                legacy={"auto_depth": False})  # runs saved before auto depth existed were built without it
def convnet(in_channels: int, image_size: int, num_classes: int, block_channels: tuple = (32, 64),
            dropout: float = 0.2, auto_depth: bool = True) -> nn.Module:
    if not block_channels:
        raise ConfigError(msg("errors.cnn.no_blocks", "The ConvNet needs at least one block."),
                          msg("errors.cnn.no_blocks.hint", "Give block channels like 16,32."))
    channels = fitted_channels(list(block_channels), image_size) if auto_depth else list(block_channels)
    return ConvNet(in_channels, image_size, num_classes, channels, dropout)


@register_model("image", "ResNet", msg("engine.models.resnet.description",
                    "A small ResNet: blocks with shortcut connections, so deeper nets still train."))
def resnet(in_channels: int, image_size: int, num_classes: int, width: int = 16, stages: int = 2,
           blocks_per_stage: int = 1) -> nn.Module:
    return ResNet(in_channels, num_classes, width, stages, blocks_per_stage)
