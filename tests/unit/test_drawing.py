"""Drawings and uploads become model inputs that look like the training digits: centred, light on dark."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from bigmodel_core.data.images.drawing import default_margin, prepare_drawing, prepare_upload
from bigmodel_core.errors import InputError


def canvas(side: int = 280, alpha: int = 255) -> np.ndarray:
    """A black RGBA canvas like the app's drawing pad, (side, side, 4) uint8."""
    c = np.zeros((side, side, 4), dtype=np.uint8)
    c[..., 3] = alpha
    return c


def drawn_one(x0: int = 40, y0: int = 40) -> np.ndarray:
    """A '1': a vertical white stroke 20 px wide and 200 px tall, off to the left of the canvas."""
    c = canvas()
    c[y0:y0 + 200, x0:x0 + 20] = 255
    return c


def centre_of_mass(img: np.ndarray) -> tuple[float, float]:
    g = img[..., 0].astype(float)
    ys, xs = np.mgrid[0:g.shape[0], 0:g.shape[1]]
    return float((g * ys).sum() / g.sum()), float((g * xs).sum() / g.sum())


@pytest.mark.parametrize("size, rows", [(8, (0, 7)), (28, (4, 23))])
def test_a_drawn_one_is_centred_and_scaled_like_the_training_digits(size, rows):
    img = prepare_drawing(drawn_one(), size, 1)
    assert img.shape == (size, size, 1) and img.dtype == np.uint8
    cy, cx = centre_of_mass(img)
    mid = (size - 1) / 2
    assert abs(cy - mid) <= 0.75 and abs(cx - mid) <= 0.75  # moved from the left edge to the middle
    ink_rows = np.nonzero(img[..., 0].max(axis=1))[0]
    assert (ink_rows[0], ink_rows[-1]) == rows  # 8x8 digits fill the frame; MNIST uses a 20 px box
    assert img.max() == 255 and img[0, 0, 0] == 0 and img[-1, -1, 0] == 0


def test_the_margin_follows_each_dataset_convention():
    assert default_margin(8) == 0.0
    assert round(28 * default_margin(28)) == 4


def test_the_position_on_the_canvas_does_not_matter():
    a = prepare_drawing(drawn_one(20, 10), 28, 1)
    b = prepare_drawing(drawn_one(220, 70), 28, 1)
    assert np.array_equal(a, b)


def test_dark_ink_on_light_paper_is_inverted():
    rng = np.random.default_rng(0)
    paper = np.full((300, 240, 3), 225, dtype=np.uint8) + rng.integers(0, 20, (300, 240, 3), dtype=np.uint8)
    paper[50:250, 110:130] = 30  # a dark '1' on light, slightly grainy paper
    img = prepare_upload(Image.fromarray(paper), 28, 1)
    assert img[0, 0, 0] == 0 and img[..., 0].max() == 255
    assert np.abs(img.astype(int) - prepare_drawing(drawn_one(), 28, 1).astype(int)).mean() < 8


def test_invert_can_be_forced():
    light = 255 - drawn_one()  # black ink on white paper, opaque
    light[..., 3] = 255
    assert np.array_equal(prepare_drawing(light, 8, 1, invert="yes"), prepare_drawing(drawn_one(), 8, 1))
    with pytest.raises(InputError, match="lighter than its background"):
        prepare_drawing(light, 8, 1, invert="no")
    with pytest.raises(InputError, match="invert") as err:
        prepare_drawing(drawn_one(), 8, 1, invert="maybe")
    assert "auto" in err.value.hint


@pytest.mark.parametrize("pen", [255, 0])
def test_a_transparent_canvas_works_with_any_pen_colour(pen):
    c = np.zeros((280, 280, 4), dtype=np.uint8)  # nothing drawn is fully transparent
    c[40:240, 40:60, :3] = pen
    c[40:240, 40:60, 3] = 255
    assert np.array_equal(prepare_drawing(c, 8, 1), prepare_drawing(drawn_one(), 8, 1))


@pytest.mark.parametrize("blank", [canvas(), canvas(alpha=0), np.full((280, 280, 4), 255, np.uint8)])
def test_an_empty_canvas_is_a_plain_error(blank):
    with pytest.raises(InputError) as err:
        prepare_drawing(blank, 28, 1)
    assert err.value.message == "The canvas is empty." and "Draw a digit" in err.value.hint


def test_faint_noise_alone_counts_as_empty():
    noisy = canvas()
    noisy[..., :3] = np.random.default_rng(0).integers(0, 10, (280, 280, 1), dtype=np.uint8)
    with pytest.raises(InputError, match="empty"):
        prepare_drawing(noisy, 8, 1)


def test_colour_models_get_the_drawing_in_every_channel():
    img = prepare_drawing(drawn_one(), 28, 3)
    assert img.shape == (28, 28, 3)
    assert np.array_equal(img[..., 0], img[..., 2])


def test_the_steps_can_be_shown():
    img, steps = prepare_drawing(drawn_one(), 28, 1, return_steps=True)
    assert set(steps) == {"grey", "cropped", "final"}
    assert steps["grey"].shape == (280, 280)
    assert steps["cropped"].shape == (200, 200)  # the stroke's bounding box padded to a square
    assert np.array_equal(steps["final"], img[..., 0])


def test_training_digits_drawn_large_come_back_close_to_the_originals():
    from sklearn.datasets import load_digits

    digits = (load_digits().images * 255 / 16).round().astype(np.uint8)  # (N, 8, 8)
    diffs = []
    for small in digits[:100]:
        big = np.asarray(Image.fromarray(small).resize((200, 200), Image.Resampling.BILINEAR))
        c = canvas()
        c[40:240, 40:240, :3] = big[..., None]
        diffs.append(np.abs(prepare_drawing(c, 8, 1)[..., 0].astype(int) - small).mean())
    assert np.mean(diffs) < 25  # of 255: measured about 18 (bilinear blur, faint pixels dropped)


def test_uploads_can_be_bytes_or_files():
    buf = io.BytesIO()
    Image.fromarray(255 - drawn_one()[..., 0]).save(buf, format="PNG")  # dark on light, grey PNG
    for upload in (buf.getvalue(), io.BytesIO(buf.getvalue())):
        assert np.array_equal(prepare_upload(upload, 8, 1), prepare_drawing(drawn_one(), 8, 1))
    with pytest.raises(InputError, match="not a picture"):
        prepare_upload(b"not an image", 8, 1)


def test_colour_photos_are_cropped_and_resized_not_cleaned_up():
    photo = np.zeros((48, 64, 3), dtype=np.uint8)
    photo[..., 0] = 200  # a red picture
    img = prepare_upload(Image.fromarray(photo), 32, 3)
    assert img.shape == (32, 32, 3)
    assert img[..., 0].min() >= 195 and img[..., 1].max() <= 5
    with pytest.raises(InputError, match="digit"):
        prepare_upload(photo, 32, 3, style="cat")
