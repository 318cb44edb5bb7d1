"""Image datasets: load a built-in, .npz, folder/zip or downloaded set as one uint8 array, and split it.

Every image ends up square, of one size, grey (1 channel) or colour (3), as uint8 (N, S, S, C).
Choices made when converting, the same for datasets and for single images to predict:
- transparency is composited over black (a transparent background becomes black, like MNIST's);
- a non-square image is padded with black to a square, centred, never cropped, so nothing of
  the object is cut off; then it is resized (Lanczos when shrinking, bilinear when enlarging);
- colour to grey uses ITU-R 601 luma (Pillow's "L"); grey to colour repeats the channel;
- 16-bit and float pixels are scaled to 0..255 (floats up to 1.0 are read as 0..1);
- photos are turned upright by their EXIF orientation; an animation gives its first frame.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import pandas as pd
from PIL import Image, ImageOps
from sklearn.datasets import load_digits  # top level: see data/dataset.py (import race between script threads)

from ...config import DataConfig
from ...errors import DataError, did_you_mean, msg
from ..labels import encode_labels, split_indices, subsample_train
from .archives import ImageFiles, decode_image, load_image, open_image, open_image_files
from .npz import read_npz
from .corpora import IMAGE_CORPORA, download_images, get_image_corpus

IMAGE_BUILTINS = {
    "digits": {
        "title": msg("engine.images.digits.title", "Handwritten digits 8x8 (built in)"),
        "task": "image",
        "description": msg("engine.images.digits.description", "1,797 tiny grey 8x8 images of handwritten digits "
                           "0-9 from scikit-learn: offline, and a small CNN learns them in seconds."),
    },
}
IMAGE_SOURCES = ("npz", "folder")  # plus builtin:digits and download:mnist|fashion_mnist|cifar10
MAX_OUTPUT_BYTES = 4 * 2**30  # the converted array must fit in memory next to the training copy
GREY_TOLERANCE = 16  # channel spread (of 255) still counted as grey: JPEG tints grey pictures


@dataclass
class ImageDataset:
    """Images with integer labels, class names, and the indices of each split."""

    images: np.ndarray  # (N, H, W, C) uint8, H == W, C in {1, 3}
    labels: np.ndarray  # (N,) int64 class ids into class_names
    class_names: list[str]
    spec: str
    description: str = ""
    split: dict[str, np.ndarray] = field(default_factory=dict)  # train/val/test -> indices
    task: str = "image"

    def part(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The images and labels of split `name` ("train", "val" or "test")."""
        idx = self.split[name]
        return self.images[idx], self.labels[idx]

    def summary(self) -> dict:
        """Rows, class balance and image shape, for the Data page and `datasets --json`."""
        counts = np.bincount(self.labels, minlength=len(self.class_names))
        return {"spec": self.spec, "rows": int(len(self.images)), "classes": self.class_names,
                "class_counts": {c: int(n) for c, n in zip(self.class_names, counts)},
                "image_shape": [int(d) for d in self.images.shape[1:]],
                "split": {k: int(len(v)) for k, v in self.split.items()}}

    def samples_per_class(self, k: int = 8, seed: int = 0) -> dict[str, np.ndarray]:
        """Up to `k` random images of each class (seeded), for the Data page's grid."""
        rng = np.random.default_rng(seed)
        out = {}
        for i, name in enumerate(self.class_names):
            idx = np.flatnonzero(self.labels == i)
            out[name] = self.images[np.sort(rng.choice(idx, min(k, len(idx)), replace=False))]
        return out


def is_image_spec(spec: str) -> bool:
    """True when SPEC names an image dataset (so `load_image_dataset` should read it)."""
    source, _, target = spec.partition(":")
    if source in IMAGE_SOURCES:
        return bool(target)
    return (source == "builtin" and target in IMAGE_BUILTINS) or (source == "download" and target in IMAGE_CORPORA)


def load_image_dataset(cfg: DataConfig) -> ImageDataset:
    """Load, convert, check and split the image dataset that `cfg.spec` names.

    `cfg.max_rows` keeps a seeded sample (taken before decoding, so it is also faster);
    `cfg.image_size` / `cfg.channels` fix the output shape (None: from the data).

    Raises:
        DataError: a bad SPEC, file or setting; DownloadError for a failed download.
    """
    images, raw, description = read_labelled_images(cfg)
    labels, classes = encode_labels(pd.Series(raw))
    ds = ImageDataset(images, labels, classes, cfg.spec, description)
    ds.split = subsample_train(split_indices(labels, cfg.val_fraction, cfg.test_fraction, cfg.seed),
                               cfg.train_fraction, cfg.seed, cfg.max_train_rows)
    return ds


def read_labelled_images(cfg: DataConfig) -> tuple[np.ndarray, list, str]:
    """(uint8 images (N, H, W, C) at cfg's size and channels, raw labels, description), unsplit and unchecked.

    What training and evaluation share: evaluation then maps the labels onto the run's classes.
    """
    _check_shape_settings(cfg.image_size, cfg.channels)
    source, _, target = cfg.spec.partition(":")
    if source == "folder":
        return _read_folder(target, cfg)
    images, raw, description = _read_arrays(source, target)
    keep = _sample(len(images), cfg.max_rows, cfg.seed)
    images, raw = images[keep], [raw[i] for i in keep]
    _check_memory(len(images), cfg.image_size or max(images.shape[1:3]), cfg.channels or 3)
    return convert_images(images, cfg.image_size, cfg.channels), raw, description


def check_image_upload(path: Path | str) -> None:
    """Refuse an uploaded .npz or .zip that cannot become an image dataset, decoding no image.

    Raises:
        DataError: what `read_npz` / `open_image_files` refuse, arrays that are not a stack of
            pictures, or a zip whose images are all in one class folder.
    """
    path = Path(path)
    if path.suffix.lower() == ".npz":
        images, _ = read_npz(path)
        as_nhwc(images[:1], path.name)  # shape and pixel type; all pixels are checked when loaded
        return
    with open_image_files(path) as files:
        _check_classes(files)


def _check_classes(files: ImageFiles) -> None:
    if len(set(files.labels)) < 2:
        raise DataError(msg("errors.images.one_class", "All images of {source} are in one class folder ('{label}'), "
                            "so there is nothing to tell apart.", source=files.source, label=files.labels[0]),
                        msg("errors.images.one_class.hint", "Add a folder of images of at least one other class next "
                            "to it."))


def _read_arrays(source: str, target: str) -> tuple[np.ndarray, list, str]:
    """(images (N, H, W, C) uint8, raw labels, description) of a built-in, npz or download SPEC."""
    if source == "builtin":
        if target not in IMAGE_BUILTINS:
            raise DataError(msg("errors.images.unknown_builtin", "There is no built-in image dataset called '{name}'.",
                                name=target), did_you_mean(target, IMAGE_BUILTINS))

        digits = load_digits()
        images = np.rint(digits.images * (255 / 16)).astype(np.uint8)[..., None]  # (1797, 8, 8, 1)
        return images, [str(t) for t in digits.target], IMAGE_BUILTINS[target]["description"]
    if source == "download":
        corpus = get_image_corpus(target)
        images, labels = download_images(target)
        return images, labels, corpus.description
    if source == "npz":
        path = Path(target).expanduser()
        images, labels = read_npz(path)
        if labels.dtype.kind == "S":
            labels = np.char.decode(labels, "utf-8", errors="replace")
        description = msg("engine.images.uploaded_arrays", "Uploaded arrays {name}", name=path.name)
        return as_nhwc(images, path.name), labels.tolist(), description
    raise DataError(msg("errors.images.unknown_source", "'{source}' is not a kind of image dataset.", source=source),
                    did_you_mean(source, ("builtin", "download") + IMAGE_SOURCES))


def _read_folder(target: str, cfg: DataConfig) -> tuple[np.ndarray, list[str], str]:
    """Decode the sampled images of a folder or zip into one (N, S, S, C) array."""
    with open_image_files(target) as files:
        keep = _sample(len(files), cfg.max_rows, cfg.seed)
        labels = [files.labels[i] for i in keep]
        _check_classes(files)
        encode_labels(pd.Series(labels))  # other label problems fail here, before any decoding
        size, channels = cfg.image_size, cfg.channels
        if size is None or channels is None:
            sides, greys = _survey(files, keep, need_grey=channels is None)
            size = size or _most_common_side(sides)
            channels = channels or (1 if all(greys) else 3)
        _check_memory(len(keep), size, channels)
        out = np.empty((len(keep), size, size, channels), dtype=np.uint8)
        for j, i in enumerate(keep):
            out[j] = to_model_image(decode_image(files.read(i), files.names[i]), size, channels)
        return out, labels, _folder_description(files, len(keep))


def _folder_description(files: ImageFiles, used: int) -> str:
    """'Uploaded images cats.zip: 1,200 images in 2 class folders; a sample of 500 used.' (a Msg)."""
    notes = [msg("engine.images.note_count", "{n:,} images in {classes} class folders",
                 n=len(files), classes=len(set(files.labels)))]
    if used < len(files):
        notes.append(msg("engine.images.note_sample", "a sample of {n:,} used", n=used))
    if files.skipped == 1:
        notes.append(msg("engine.images.note_skipped_one", "{n} non-image file skipped", n=files.skipped))
    elif files.skipped:
        notes.append(msg("engine.images.note_skipped", "{n} non-image files skipped", n=files.skipped))
    if files.loose == 1:
        notes.append(msg("engine.images.note_loose_one", "{n} image outside the class folders skipped", n=files.loose))
    elif files.loose:
        notes.append(msg("engine.images.note_loose", "{n} images outside the class folders skipped", n=files.loose))
    joined = notes[-1]
    for note in reversed(notes[:-1]):  # nested, so each note is translated and each language joins them its way
        joined = msg("engine.images.notes_join", "{first}; {rest}", first=note, rest=joined)
    return msg("engine.images.uploaded_images", "Uploaded images {source}: {notes}.", source=files.source, notes=joined)


def _survey(files: ImageFiles, keep: np.ndarray, need_grey: bool) -> tuple[list[int], list[bool]]:
    """Side (max of width, height) of each image from its header, and whether it looks grey."""
    sides, greys = [], []
    for i in keep:
        img = open_image(files.read(i), files.names[i])
        sides.append(max(img.size))
        if need_grey:
            if img.format == "JPEG":
                img.draft(img.mode, (64, 64))  # decode at 1/8 scale: enough to judge colour
            greys.append(_is_greyish(_grey_or_rgb(load_image(img, files.names[i]))))
    return sides, greys


def _most_common_side(sides: list[int]) -> int:
    counts = Counter(sides)
    return max(counts, key=lambda s: (counts[s], s))  # ties: the larger size keeps more detail


def _sample(n: int, max_rows: Optional[int], seed: int) -> np.ndarray:
    """Sorted indices of a seeded sample of `max_rows` out of `n` (all of them when None)."""
    if max_rows and max_rows < n:
        return np.sort(np.random.default_rng(seed).choice(n, max_rows, replace=False))
    return np.arange(n)


def _check_shape_settings(size: Optional[int], channels: Optional[int]) -> None:
    from .archives import MAX_SIDE

    if size is not None and not (isinstance(size, int) and 2 <= size <= MAX_SIDE):
        raise DataError(msg("errors.images.bad_size", "The image size {size} is not usable.", size=repr(size)),
                        msg("errors.images.bad_size.hint", "Choose a whole number of pixels from 2 to {most}.",
                            most=MAX_SIDE))
    if channels not in (None, 1, 3):
        raise DataError(msg("errors.images.bad_channels", "Images cannot have {channels} channels here.",
                            channels=repr(channels)),
                        msg("errors.images.bad_channels.hint", "Choose 1 (grey) or 3 (colour)."))


def _check_memory(n: int, size: int, channels: int) -> None:
    need = n * size * size * channels
    if need > MAX_OUTPUT_BYTES:
        raise DataError(msg("errors.images.memory", "{n:,} images of {size} x {size} pixels would take {gb:.1f} GB of "
                            "memory.", n=n, size=size, gb=need / 2**30),
                        msg("errors.images.memory.hint", "Use fewer images (max rows) or a smaller image size."))


# --- conversion --------------------------------------------------------------------------------


def convert_images(images: Sequence[Image.Image | np.ndarray] | np.ndarray, size: Optional[int],
                   channels: Optional[int]) -> np.ndarray:
    """Bring images to one square size and channel count: uint8 (N, S, S, C).

    Args:
        images: PIL images or arrays (H, W[, C]), or one array (N, H, W[, C]).
        size: output side; None: the most common side (max of width, height) among the images.
        channels: 1 or 3; None: as stored for one array, else 1 when every image looks grey.
    """
    _check_shape_settings(size, channels)
    if isinstance(images, np.ndarray) and images.ndim >= 3 and images.dtype != object:
        return _convert_array(as_nhwc(images, msg("engine.images.the_images", "the images")), size, channels)
    if not len(images):
        raise DataError(msg("errors.images.none_to_convert", "There are no images to convert."),
                        msg("errors.images.none_to_convert.hint", "Give at least one image."))
    pics = [_grey_or_rgb(_as_pil(img)) for img in images]
    size = size or _most_common_side([max(p.size) for p in pics])
    channels = channels or (1 if all(_is_greyish(p) for p in pics) else 3)
    return np.stack([to_model_image(p, size, channels) for p in pics])


def to_model_image(img: Image.Image | np.ndarray, size: int, channels: int) -> np.ndarray:
    """One image as the model sees it: uint8 (size, size, channels), converted like the datasets."""
    _check_shape_settings(size, channels)
    pic = _grey_or_rgb(_as_pil(img))
    pic = pic.convert("L" if channels == 1 else "RGB")
    side = max(pic.size)
    if pic.width != pic.height:
        square = Image.new(pic.mode, (side, side))  # black
        square.paste(pic, ((side - pic.width) // 2, (side - pic.height) // 2))
        pic = square
    out = np.asarray(pic, dtype=np.uint8).reshape(side, side, channels)
    return out if side == size else _resize(out, size)


def as_nhwc(images: np.ndarray, what: str) -> np.ndarray:
    """(N, H, W), (N, H, W, C) or channels-first (N, C, H, W) pixels -> uint8 (N, H, W, C), C in {1, 3, 4}."""
    if images.ndim == 3:
        images = images[..., None]
    elif images.ndim == 4 and images.shape[-1] not in (1, 3, 4) and images.shape[1] in (1, 3, 4):
        images = images.transpose(0, 2, 3, 1)  # PyTorch's channels-first layout
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4) or min(images.shape[1:3], default=0) < 1:
        raise DataError(msg("errors.images.bad_shape", "The images in {what} have shape {shape}, which is not a stack "
                            "of pictures.", what=what, shape=str(images.shape)),
                        msg("errors.images.bad_shape.hint", "Store them as (count, height, width) for grey or "
                            "(count, height, width, 3) for colour."))
    if not len(images):
        raise DataError(msg("errors.images.no_images", "{what} holds no images.", what=what),
                        msg("errors.images.no_images.hint", "Add at least a few images per class."))
    return to_uint8(images, what)


def to_uint8(a: np.ndarray, what: str) -> np.ndarray:
    """Pixels as uint8: floats up to 1.0 are 0..1, up to 255 are 0..255; 16-bit is scaled down."""
    if a.dtype == np.uint8:
        return a
    if a.dtype == bool:
        return a.astype(np.uint8) * 255
    if a.dtype.kind not in "iuf":
        raise DataError(msg("errors.images.pixel_type", "The pixels in {what} are of type {dtype}, not numbers.",
                            what=what, dtype=str(a.dtype)),
                        msg("errors.images.pixel_type.hint", "Store the images as numbers."))
    lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo < 0:
        raise DataError(msg("errors.images.negative_pixels", "The pixels in {what} hold negative or missing values.",
                            what=what),
                        msg("errors.images.negative_pixels.hint",
                            "Store pixels from 0 to 255 (or 0 to 1 for floats), not normalised values."))
    if a.dtype.kind == "f" and hi <= 1.0:
        return np.rint(a * 255).astype(np.uint8)
    if hi <= 255:
        return np.rint(a).astype(np.uint8) if a.dtype.kind == "f" else a.astype(np.uint8)
    if hi <= 65535:
        return np.rint(a / 257).astype(np.uint8)  # 16-bit pixels
    raise DataError(msg("errors.images.pixels_too_high", "The pixels in {what} go up to {high:g}, more than 16-bit "
                        "images do.", what=what, high=hi),
                    msg("errors.images.pixels_too_high.hint", "Store pixels from 0 to 255 (or 0 to 1 for floats)."))


def _convert_array(images: np.ndarray, size: Optional[int], channels: Optional[int]) -> np.ndarray:
    """Vectorised conversion of uint8 (N, H, W, C): alpha over black, channels, pad, then resize."""
    if images.shape[-1] == 4:
        alpha = images[..., 3:].astype(np.uint16)
        images = ((images[..., :3] * alpha + 127) // 255).astype(np.uint8)
    channels = channels or images.shape[-1]
    if images.shape[-1] == 3 and channels == 1:
        r, g, b = (images[..., k].astype(np.uint32) for k in range(3))
        images = ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)[..., None]  # Pillow's "L"
    elif images.shape[-1] == 1 and channels == 3:
        images = np.repeat(images, 3, axis=-1)
    n, h, w, _ = images.shape
    side = max(h, w)
    if h != w:
        top, left = (side - h) // 2, (side - w) // 2
        images = np.pad(images, ((0, 0), (top, side - h - top), (left, side - w - left), (0, 0)))
    if size and size != side:
        images = np.stack([_resize(img, size) for img in images])
    return np.ascontiguousarray(images)


def _resize(img: np.ndarray, size: int) -> np.ndarray:
    """One uint8 (S, S, C) square to (size, size, C): Lanczos when shrinking, bilinear when enlarging."""
    pic = Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img)
    method = Image.Resampling.LANCZOS if img.shape[0] > size else Image.Resampling.BILINEAR
    return np.asarray(pic.resize((size, size), method)).reshape(size, size, img.shape[-1])


def _as_pil(img: Image.Image | np.ndarray) -> Image.Image:
    """A PIL image from a PIL image or a (H, W[, C]) array."""
    if isinstance(img, Image.Image):
        return img
    a = np.asarray(img)
    if a.ndim == 2:
        a = a[..., None]
    a = as_nhwc(a[None], msg("engine.images.the_image", "the image"))[0]
    return Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a, mode={1: "L", 3: "RGB", 4: "RGBA"}[a.shape[-1]])


def _grey_or_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode as "L" (grey modes) or "RGB": upright (EXIF), alpha over black, 8-bit."""
    try:
        img = ImageOps.exif_transpose(img)  # phone photos store "rotate me" in EXIF
    except (OSError, ValueError, SyntaxError, TypeError, KeyError):
        pass  # unreadable EXIF: use the pixels as stored
    if img.mode.startswith("I;16"):
        return Image.fromarray(np.rint(np.asarray(img) / 257).astype(np.uint8), mode="L")
    if img.mode in ("I", "F") or img.mode.startswith("I;"):
        return Image.fromarray(to_uint8(np.asarray(img), msg("engine.images.the_image", "the image")), mode="L")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info:
        rgba = np.asarray(img.convert("RGBA"))
        rgb = ((rgba[..., :3].astype(np.uint16) * rgba[..., 3:] + 127) // 255).astype(np.uint8)
        return Image.fromarray(rgb[..., 0], mode="L") if img.mode in ("LA", "La") else Image.fromarray(rgb, mode="RGB")
    return img.convert("L") if img.mode in ("1", "L") else img.convert("RGB")


def _is_greyish(img: Image.Image) -> bool:
    """True for "L" images and colour images whose channels (nearly) agree everywhere."""
    if img.mode == "L":
        return True
    small = img.copy()
    small.thumbnail((64, 64))
    a = np.asarray(small, dtype=np.int16)
    spread = a.max(axis=-1) - a.min(axis=-1)
    return float((spread > GREY_TOLERANCE).mean()) < 0.01
