"""Turn a canvas drawing or an uploaded picture into the small image a trained model reads.

Digit models learn from images that all look alike: a light digit on a black background,
scaled to fit a box and centred by its centre of mass (MNIST: a 20x20 box in 28x28;
scikit-learn's 8x8 digits: the digit fills the whole frame). A drawing on a 280x280 canvas
looks nothing like that, so it is cleaned up the same way before the model sees it:

    composite alpha -> grey -> (invert dark-on-light) -> remove the background level
    -> crop to the ink -> pad to a square -> shrink with area averaging -> centre by mass
    -> stretch so the brightest pixel is 255

Colour photos for colour models (CIFAR-style) are only centre-cropped and resized.
"""
from __future__ import annotations

import io
from typing import Any, Optional, Union

import numpy as np

from ...errors import InputError, msg

INVERT_CHOICES = ("auto", "yes", "no")
EMPTY_RANGE = 16.0  # grey levels (of 255): less contrast than this is an empty canvas
NOISE_FLOOR = 0.1  # ink fainter than 10% of the strongest stroke is paper grain, not ink
MNIST_MARGIN = 4 / 28  # MNIST fits the digit into 20x20 inside 28x28: 4 px each side
SMALL_IMAGE = 16  # below this side the 8x8-digits convention applies: no margin
MAX_WORK_SIDE = 560  # big photos are shrunk to this first: same result, much faster
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601, as PIL's "L" mode

Steps = dict[str, np.ndarray]


def default_margin(size: int) -> float:
    """Empty border on each side, as a fraction of `size`, matching how the training sets were made.

    A single fraction cannot serve both: scikit-learn's 8x8 digits fill the frame (every digit
    is 8 rows tall), while MNIST leaves 4 of 28 pixels on each side. So small images get no
    margin and larger ones MNIST's 1/7 (28 -> 4 px, 32 -> 5 px).
    """
    return 0.0 if size < SMALL_IMAGE else MNIST_MARGIN


def prepare_drawing(rgba: np.ndarray, size: int, channels: int, invert: str = "auto", *,
                    margin: Optional[float] = None, background: Union[str, tuple] = "auto",
                    return_steps: bool = False) -> Union[np.ndarray, tuple[np.ndarray, Steps]]:
    """A canvas drawing (H, W, 4) uint8 RGBA -> the model's input (size, size, channels) uint8.

    Args:
        rgba: what streamlit-drawable-canvas returns; (H, W, 3) and (H, W) are accepted too.
        invert: "auto" inverts dark ink on light paper (the border is lighter than the ink);
            "yes" / "no" force it.
        margin: empty border per side as a fraction of `size` (default: `default_margin`).
        background: colour under transparent pixels; "auto" picks black under light strokes
            and white under dark ones, so a transparent canvas works with any pen colour.
        return_steps: also return {"grey", "cropped", "final"} (uint8, 2-D) for display.
    Raises:
        InputError: the canvas is empty, or `invert` is not one of "auto", "yes", "no".
    """
    _check_target(size, channels)
    grey = _to_grey(np.asarray(rgba), background)  # (H, W) float32 in 0..255
    return _digit_steps(grey, size, channels, invert, margin, return_steps)


def prepare_upload(img: Any, size: int, channels: int, invert: str = "auto", *, style: Optional[str] = None,
                   margin: Optional[float] = None, return_steps: bool = False
                   ) -> Union[np.ndarray, tuple[np.ndarray, Steps]]:
    """An uploaded picture (PIL image, array, bytes or file) -> the model's input uint8 (size, size, channels).

    Args:
        style: "digit" cleans the picture up like a drawing (invert, crop, centre: for MNIST-like
            models); "photo" only centre-crops and resizes (for CIFAR-like models). Default:
            "digit" for one-channel models, "photo" for colour ones.
        invert: as for `prepare_drawing`; for photos "auto" means no.
    Raises:
        InputError: the file is not a readable image, or it is blank.
    """
    from PIL import Image

    _check_target(size, channels)
    style = style or ("digit" if channels == 1 else "photo")
    if style not in ("digit", "photo"):
        raise InputError(msg("errors.drawing.style", "'{style}' is not a way to prepare a picture.", style=style),
                         msg("errors.drawing.style.hint", "Choose 'digit' or 'photo'."))
    pic = _open_image(img)
    if max(pic.size) > MAX_WORK_SIDE:
        pic = pic.copy()
        pic.thumbnail((MAX_WORK_SIDE, MAX_WORK_SIDE), Image.Resampling.LANCZOS)
    if style == "digit":
        grey = _to_grey(np.asarray(pic.convert("RGBA")), "auto")
        return _digit_steps(grey, size, channels, invert, margin, return_steps, upload=True)
    return _photo_steps(pic, size, channels, invert, return_steps)


def _check_target(size: int, channels: int) -> None:
    if int(size) < 1 or int(channels) not in (1, 3):
        raise InputError(msg("errors.drawing.target", "A model input of {size}x{size} pixels with {channels} channels "
                             "is not possible.", size=size, channels=channels),
                         msg("errors.drawing.target.hint",
                             "Use the size and channels of the trained model (1 for grey, 3 for colour)."))


def _open_image(img: Any):
    """PIL image from a PIL image, an array, bytes or a file-like object (Streamlit's UploadedFile)."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(img, Image.Image):
        return img
    if isinstance(img, np.ndarray):
        arr = img
        if arr.dtype != np.uint8:
            arr = np.clip(arr * (255.0 if arr.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
        if arr.ndim == 3 and arr.shape[2] == 1:
            arr = arr[:, :, 0]
        return Image.fromarray(arr)
    try:
        data = img if isinstance(img, (bytes, bytearray)) else img.read()
        pic = Image.open(io.BytesIO(data))
        pic.load()
        return pic
    except (UnidentifiedImageError, OSError, AttributeError, ValueError):
        raise InputError(msg("errors.drawing.not_a_picture", "This file is not a picture that can be read."),
                         msg("errors.drawing.not_a_picture.hint", "Use a PNG or JPEG picture.")) from None


def _to_grey(arr: np.ndarray, background: Union[str, tuple]) -> np.ndarray:
    """(H, W[, 3|4]) image -> (H, W) float32 grey in 0..255, alpha composited over `background`."""
    if arr.ndim not in (2, 3) or arr.size == 0 or (arr.ndim == 3 and arr.shape[2] not in (1, 3, 4)):
        raise InputError(msg("errors.drawing.shape", "A drawing of shape {shape} cannot be read.",
                             shape=str(arr.shape)),
                         msg("errors.drawing.shape.hint", "Pass the canvas image as an (height, width, 4) RGBA array."))
    x = arr.astype(np.float32)
    if arr.dtype.kind == "f" and x.max() <= 1.0:
        x = x * 255.0
    if x.ndim == 2 or x.shape[2] == 1:
        return x.reshape(x.shape[0], x.shape[1])
    grey = x[:, :, :3] @ _LUMA  # (H, W)
    if x.shape[2] == 3:
        return grey
    alpha = x[:, :, 3] / 255.0  # (H, W)
    if alpha.min() >= 1.0:
        return grey
    if isinstance(background, str):
        if background == "auto":
            # light strokes go over black, dark strokes over white: the pen stays visible
            ink = alpha.sum()
            mean = float((grey * alpha).sum() / ink) if ink > 0 else 255.0
            bg = 0.0 if mean >= 128 else 255.0
        else:
            bg = 255.0 if background == "white" else 0.0
    else:
        bg = float(np.dot(np.asarray(background[:3], dtype=np.float32), _LUMA))
    return grey * alpha + bg * (1.0 - alpha)


def _bad_invert(invert: str) -> InputError:
    return InputError(msg("errors.drawing.invert", "'{invert}' is not a choice for inverting the picture.",
                          invert=invert),
                      msg("errors.drawing.invert.hint", "Choose one of: {choices}.", choices=", ".join(INVERT_CHOICES)))


def _border(grey: np.ndarray) -> np.ndarray:
    """The pixels of a frame about 4% thick around the image, (n,)."""
    h, w = grey.shape
    t = max(1, round(0.04 * min(h, w)))
    return np.concatenate([grey[:t].ravel(), grey[-t:].ravel(), grey[:, :t].ravel(), grey[:, -t:].ravel()])


def _empty(upload: bool = False) -> InputError:
    if upload:
        return InputError(msg("errors.drawing.blank", "The picture is blank: there is no digit on it."),
                          msg("errors.drawing.blank.hint", "Use a picture of one digit, large and in the middle."))
    return InputError(msg("errors.drawing.empty", "The canvas is empty."),
                      msg("errors.drawing.empty.hint", "Draw a digit with the mouse or a finger, large and in the "
                          "middle."))


def _digit_steps(grey: np.ndarray, size: int, channels: int, invert: str, margin: Optional[float],
                 return_steps: bool, upload: bool = False) -> Union[np.ndarray, tuple[np.ndarray, Steps]]:
    """Grey picture -> light digit on black, cropped, scaled into its box and centred by mass."""
    if invert not in INVERT_CHOICES:
        raise _bad_invert(invert)
    lo, hi = float(grey.min()), float(grey.max())
    if hi - lo < EMPTY_RANGE:
        raise _empty(upload)
    paper = float(np.median(_border(grey)))
    # dark ink on light paper: the border (paper) lies nearer the light end than the dark one
    if invert == "yes" or (invert == "auto" and paper - lo > hi - paper):
        grey, paper = 255.0 - grey, 255.0 - paper
    ink = np.clip(grey - paper, 0.0, None)  # (H, W) the paper's level becomes black
    if ink.max() < EMPTY_RANGE:
        raise InputError(msg("errors.drawing.no_ink", "Nothing in the picture is lighter than its background."),
                         msg("errors.drawing.no_ink.hint", "For dark ink on light paper set invert to 'auto' or "
                             "'yes'."))
    ink = np.clip((ink / ink.max() - NOISE_FLOOR) / (1.0 - NOISE_FLOOR), 0.0, 1.0)
    square = _crop_square(ink)  # (L, L) in 0..1, the ink's bounding box padded to a square
    frac = default_margin(size) if margin is None else float(margin)
    pad = min(round(size * frac), (size - 1) // 2)
    box = _resize(square, size - 2 * pad)  # (box, box)
    final = _centre_by_mass(box, size)  # (size, size) in 0..1
    out = _to_uint8(final / max(final.max(), 1e-6))
    image = np.repeat(out[:, :, None], channels, axis=2)  # (size, size, channels)
    if not return_steps:
        return image
    return image, {"grey": _to_uint8(ink), "cropped": _to_uint8(square), "final": out}


def _crop_square(ink: np.ndarray) -> np.ndarray:
    """Crop (H, W) to the bounding box of its ink and pad the short side: keeps the aspect ratio."""
    rows, cols = np.nonzero(ink.any(axis=1))[0], np.nonzero(ink.any(axis=0))[0]
    crop = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = crop.shape
    side = max(h, w)
    square = np.zeros((side, side), dtype=np.float32)
    top, left = (side - h) // 2, (side - w) // 2
    square[top:top + h, left:left + w] = crop
    return square


def _resize(x: np.ndarray, side: int) -> np.ndarray:
    """(L, L) float -> (side, side) float; shrinking averages areas (antialiased, as the 8x8
    digits were made by counting ink in 4x4 blocks), enlarging interpolates."""
    from PIL import Image

    resample = Image.Resampling.BOX if x.shape[0] >= side else Image.Resampling.BILINEAR
    img = Image.fromarray(x.astype(np.float32)).resize((side, side), resample)
    return np.clip(np.asarray(img, dtype=np.float32), 0.0, 1.0)


def _centre_by_mass(box: np.ndarray, size: int) -> np.ndarray:
    """Place the ink of `box` in a (size, size) frame with its centre of mass in the middle.

    The shift is whole pixels (as MNIST did) and clamped so that no ink leaves the frame.
    """
    rows, cols = np.nonzero(box.any(axis=1))[0], np.nonzero(box.any(axis=0))[0]
    ink = box[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]  # (h, w)
    h, w = ink.shape
    mass = ink.sum()
    cy = float((ink.sum(axis=1) * np.arange(h)).sum() / mass)
    cx = float((ink.sum(axis=0) * np.arange(w)).sum() / mass)
    centre = (size - 1) / 2
    top = int(np.clip(round(centre - cy), 0, size - h))
    left = int(np.clip(round(centre - cx), 0, size - w))
    frame = np.zeros((size, size), dtype=np.float32)
    frame[top:top + h, left:left + w] = ink
    return frame


def _photo_steps(pic, size: int, channels: int, invert: str, return_steps: bool
                 ) -> Union[np.ndarray, tuple[np.ndarray, Steps]]:
    """Colour photo -> centre square crop -> antialiased resize; no digit clean-up."""
    from PIL import Image, ImageOps

    if invert not in INVERT_CHOICES:
        raise _bad_invert(invert)
    rgb = pic.convert("RGBA")
    flat = Image.new("RGBA", rgb.size, (255, 255, 255, 255))
    rgb = Image.alpha_composite(flat, rgb).convert("RGB")  # transparent -> white
    if invert == "yes":
        rgb = ImageOps.invert(rgb)
    side = min(rgb.size)
    left, top = (rgb.width - side) // 2, (rgb.height - side) // 2
    square = rgb.crop((left, top, left + side, top + side))
    small = square.resize((size, size), Image.Resampling.LANCZOS)
    if channels == 1:
        small = small.convert("L")
    image = np.asarray(small, dtype=np.uint8).reshape(size, size, channels)
    if not return_steps:
        return image
    return image, {"grey": np.asarray(rgb), "cropped": np.asarray(square), "final": image[:, :, 0] if channels == 1 else image}


def _to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 255.0), 0, 255).astype(np.uint8)
