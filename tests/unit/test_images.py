"""Image datasets: built-in digits, .npz arrays, folders and zips of class folders, and their safety."""
from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bigmodel_core.config import DataConfig
from bigmodel_core.data.images import archives as image_archives
from bigmodel_core.data.images import npz as image_npz
from bigmodel_core.data.images.dataset import (IMAGE_BUILTINS, ImageDataset, convert_images, is_image_spec,
                                       load_image_dataset, to_model_image)
from bigmodel_core.errors import BigModelError, DataError


def load(spec: str, **kw) -> ImageDataset:
    return load_image_dataset(DataConfig(spec=spec, **kw))


def png(img: Image.Image, fmt: str = "PNG", **save) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **save)
    return buffer.getvalue()


def grey(side: int, value: int, height: int | None = None) -> Image.Image:
    return Image.new("L", (side, height or side), value)


def colour(side: int, rgb=(200, 30, 30)) -> Image.Image:
    return Image.new("RGB", (side, side), rgb)


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def write_zip(path: Path, files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return path


def two_class_pngs(n: int = 6, side: int = 12, prefix: str = "") -> dict[str, bytes]:
    files = {f"{prefix}dark/{i}.png": png(grey(side, 10 + i)) for i in range(n)}
    files |= {f"{prefix}light/{i}.png": png(grey(side, 240 - i)) for i in range(n)}
    return files


# --- built-in digits ---------------------------------------------------------------------------


def test_digits_are_1797_grey_8x8_images_of_ten_classes():
    ds = load("builtin:digits")

    assert ds.images.shape == (1797, 8, 8, 1) and ds.images.dtype == np.uint8
    assert ds.images.max() == 255 and ds.images.min() == 0
    assert ds.class_names == [str(d) for d in range(10)] and ds.task == "image"
    assert sum(ds.summary()["split"].values()) == 1797
    assert ds.summary()["image_shape"] == [8, 8, 1]
    assert ds.description == IMAGE_BUILTINS["digits"]["description"]


def test_digits_resized_to_colour_and_sampled_with_max_rows():
    first = load("builtin:digits", image_size=16, channels=3, max_rows=200, seed=3)
    again = load("builtin:digits", image_size=16, channels=3, max_rows=200, seed=3)

    assert first.images.shape == (200, 16, 16, 3)
    assert np.array_equal(first.images, again.images) and np.array_equal(first.labels, again.labels)
    assert np.array_equal(first.images[..., 0], first.images[..., 2])  # grey repeated


def test_split_parts_summary_and_samples_per_class():
    ds = load("builtin:digits", val_fraction=0.2, test_fraction=0.1)
    train_x, train_y = ds.part("train")
    summary = ds.summary()

    assert len(train_x) == len(train_y) == summary["split"]["train"]
    assert set(summary) == {"spec", "rows", "classes", "class_counts", "image_shape", "split"}
    assert sum(summary["class_counts"].values()) == summary["rows"] == 1797
    grid = ds.samples_per_class(k=4, seed=1)
    assert list(grid) == ds.class_names and all(v.shape == (4, 8, 8, 1) for v in grid.values())
    assert all(np.array_equal(grid[k], ds.samples_per_class(k=4, seed=1)[k]) for k in grid)


@pytest.mark.parametrize("spec,expected", [
    ("builtin:digits", True), ("builtin:synthetic_reviews", False), ("download:mnist", True),
    ("download:cifar10", True), ("download:sst2", False), ("npz:/x.npz", True),
    ("folder:pics.zip", True), ("csv:reviews.csv", False), ("folder:", False),
])
def test_is_image_spec(spec, expected):
    assert is_image_spec(spec) is expected


def test_unknown_builtin_suggests_digits():
    with pytest.raises(DataError, match="no built-in image dataset") as caught:
        load("builtin:digit")
    assert "digits" in caught.value.hint


# --- npz ---------------------------------------------------------------------------------------


def labels_for(n: int) -> np.ndarray:
    return np.array(["cat", "dog"] * (n // 2))


def test_npz_with_images_and_labels_keys_uint8_nhw(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (20, 10, 10), dtype=np.uint8)
    np.savez(tmp_path / "a.npz", images=images, labels=labels_for(20))

    ds = load(f"npz:{tmp_path / 'a.npz'}")

    assert ds.images.shape == (20, 10, 10, 1) and ds.class_names == ["cat", "dog"]
    assert np.array_equal(ds.images[..., 0], images)


@pytest.mark.parametrize("scale", [1.0, 255.0])
def test_npz_with_x_y_keys_float_nhwc(tmp_path, scale):
    x = np.random.default_rng(1).random((20, 6, 6, 3)).astype(np.float32)
    np.savez_compressed(tmp_path / "b.npz", x=x * scale, y=np.arange(20) % 2)

    ds = load(f"npz:{tmp_path / 'b.npz'}")

    assert ds.images.shape == (20, 6, 6, 3) and ds.images.dtype == np.uint8
    assert np.abs(ds.images.astype(int) - np.rint(x * 255)).max() <= 1
    assert ds.class_names == ["0", "1"]


def test_npz_rgba_drops_alpha_over_black(tmp_path):
    x = np.zeros((20, 4, 4, 4), dtype=np.uint8)
    x[..., :3] = 200
    x[:, :2, :, 3] = 255  # top half opaque, bottom half transparent
    np.savez(tmp_path / "c.npz", images=x, labels=labels_for(20))

    ds = load(f"npz:{tmp_path / 'c.npz'}")

    assert ds.images.shape == (20, 4, 4, 3)
    assert (ds.images[:, :2] == 200).all() and (ds.images[:, 2:] == 0).all()


def test_npz_channels_first_is_understood(tmp_path):
    x = np.zeros((20, 3, 5, 5), dtype=np.uint8)
    x[:, 0] = 255  # red plane
    np.savez(tmp_path / "d.npz", images=x, labels=labels_for(20))

    ds = load(f"npz:{tmp_path / 'd.npz'}")

    assert ds.images.shape == (20, 5, 5, 3) and (ds.images[..., 0] == 255).all() and ds.images[..., 1].max() == 0


@pytest.mark.parametrize("arrays,match", [
    ({"images": np.zeros((5, 4, 4)), "labels": np.zeros(4)}, "5 images but 4 labels"),
    ({"pixels": np.zeros((5, 4, 4)), "labels": np.zeros(5)}, "no arrays called 'images'"),
    ({"images": np.zeros((4, 4)), "labels": np.zeros(4)}, "not a stack of pictures"),
    ({"images": -np.ones((4, 4, 4)), "labels": np.zeros(4)}, "negative"),
    ({"images": np.zeros((4, 4, 4)), "labels": np.zeros(4, complex)}, "not numbers or names"),
])
def test_npz_problems_give_plain_errors(tmp_path, arrays, match):
    np.savez(tmp_path / "e.npz", **arrays)
    with pytest.raises(DataError, match=match) as caught:
        load(f"npz:{tmp_path / 'e.npz'}")
    assert caught.value.hint


def test_npz_object_arrays_are_refused_not_unpickled(tmp_path):
    labels = np.array([{"evil": 1}] * 4, dtype=object)
    np.savez(tmp_path / "f.npz", images=np.zeros((4, 3, 3), np.uint8), labels=labels)

    with pytest.raises(DataError, match="stores Python objects"):
        load(f"npz:{tmp_path / 'f.npz'}")


def test_npz_missing_or_not_npz(tmp_path):
    with pytest.raises(DataError, match="no file"):
        load(f"npz:{tmp_path / 'nope.npz'}")
    (tmp_path / "g.npz").write_text("hello")
    with pytest.raises(DataError, match="not an .npz"):
        load(f"npz:{tmp_path / 'g.npz'}")


def npy(shape, descr="|u1", data=b"", header: bytes | None = None) -> bytes:
    """A .npy member written by hand, so its header can say what it likes."""
    buffer = io.BytesIO()
    if header is None:
        np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    else:
        buffer.write(np.lib.format.magic(1, 0) + struct.pack("<H", len(header)) + header)
    return buffer.getvalue() + data


def test_npz_with_huge_declared_shape_is_refused_before_allocating(tmp_path, monkeypatch):
    noise = np.random.default_rng(0).bytes(1_600_000)  # 1.6 MB that does not compress
    path = write_zip(tmp_path / "huge.npz", {"images.npy": npy((200000, 4096, 4096), data=noise),
                                             "labels.npy": npy((200000,), "<i8", data=noise)})

    def no_loading(*a, **k):
        raise AssertionError("an array whose header is refused must not be read")

    monkeypatch.setattr(np.lib.format, "read_array", no_loading)
    with pytest.raises(DataError) as caught:
        image_npz.read_npz(path)
    assert "'images'" in caught.value.message and "(200000, 4096, 4096) of uint8" in caught.value.message
    assert "3,200,000 MB" in caught.value.message and "500 MB limit" in caught.value.message and caught.value.hint


@pytest.mark.parametrize("images,match", [
    (npy((4, 3, 3), "|O", b"\x80\x04junk"), "stores Python objects"),
    (npy((4, 3, 3), header=b"{'descr': oops"), "not a readable numpy array"),
    (npy((4, 3, 3), header=b"{'descr': '|u1', 'fortran_order': False, 'shape': (4, 3, 3)}\n"), "holds only 0 bytes"),
    (npy((4, 3, 3), data=bytes(5)), "holds only 5 bytes"),
    (npy((4, -3, 3), data=bytes(36)), "damaged"),
    (b"PNG, not an array at all", "not a readable numpy array"),
])
def test_npz_with_damaged_or_unsafe_header_is_a_plain_error(tmp_path, images, match):
    path = write_zip(tmp_path / "bad.npz", {"images.npy": images, "labels.npy": npy((4,), "<i8", data=bytes(32))})
    with pytest.raises(DataError, match=match) as caught:
        image_npz.read_npz(path)
    assert "'images' in 'bad.npz'" in caught.value.message and caught.value.hint


def test_compressed_npz_with_sorted_labels_is_not_taken_for_a_zip_bomb(tmp_path):
    labels = np.repeat(np.arange(2), 100_000)  # 1.6 MB of int64 that deflates 600x
    np.savez_compressed(tmp_path / "sorted.npz", images=np.zeros((200_000, 1, 1), np.uint8), labels=labels)
    images, read = image_npz.read_npz(tmp_path / "sorted.npz")
    assert images.shape == (200_000, 1, 1) and np.array_equal(read, labels)


@pytest.mark.parametrize("name,make", [
    ("objects.npz", lambda p: np.savez(p, images=np.zeros((4, 3, 3)), labels=np.array([{}] * 4, dtype=object))),
    ("flat.npz", lambda p: np.savez(p, images=np.zeros(4), labels=np.zeros(4))),
    ("one.zip", lambda p: write_zip(p, {f"only/{i}.png": png(grey(8, i)) for i in range(3)})),
    ("text.zip", lambda p: p.write_text("not a zip")),
])
def test_rejected_image_upload_leaves_no_file(tmp_path, name, make):
    from bigmodel_core.data.images.dataset import check_image_upload
    from bigmodel_core.data import save_upload

    make(tmp_path / name)
    with pytest.raises(DataError):
        save_upload(name, (tmp_path / name).read_bytes(), home=tmp_path / "home", check=check_image_upload)
    assert not any((tmp_path / "home" / "uploads").rglob("*"))
    good = write_zip(tmp_path / "pets.zip", two_class_pngs())
    kept = save_upload("pets.zip", good.read_bytes(), home=tmp_path / "home", check=check_image_upload)
    assert kept.read_bytes() == good.read_bytes()


# --- folders and zips --------------------------------------------------------------------------


def mixed_images() -> dict[str, bytes]:
    """Grey, RGB, RGBA, palette, LA and 16-bit images of several sizes in two classes."""
    rgba = Image.new("RGBA", (16, 16), (255, 255, 255, 0))
    palette = Image.new("RGB", (16, 16), (0, 0, 255)).convert("P")
    deep = Image.fromarray(np.full((20, 20), 60000, dtype=np.uint16))
    return {
        "cats/grey.png": png(grey(16, 100)),
        "cats/wide.jpg": png(Image.new("RGB", (32, 16), (250, 250, 250)), "JPEG"),
        "cats/rgba.png": png(rgba),
        "cats/palette.gif": png(palette, "GIF"),
        "dogs/la.png": png(Image.new("LA", (16, 16), (200, 255))),
        "dogs/deep.png": png(deep),
        "dogs/colour.bmp": png(colour(16), "BMP"),
        "dogs/small.webp": png(colour(8), "WEBP"),
    }


def test_folder_of_mixed_sizes_and_modes_becomes_one_shape(tmp_path):
    root = write_tree(tmp_path / "pets", mixed_images())

    ds = load(f"folder:{root}", val_fraction=0.25, test_fraction=0)

    assert ds.images.shape == (8, 16, 16, 3)  # 16 is the most common side; some are colour
    assert ds.class_names == ["cats", "dogs"] and np.bincount(ds.labels).tolist() == [4, 4]


def test_zip_of_mixed_images_with_chosen_size_and_channels(tmp_path):
    path = write_zip(tmp_path / "pets.zip", mixed_images())

    ds = load(f"folder:{path}", image_size=10, channels=1, val_fraction=0.25, test_fraction=0)

    assert ds.images.shape == (8, 10, 10, 1)
    pixels = {name: ds.images[i, 5, 5, 0] for i, name in enumerate(sorted(mixed_images()))}
    assert pixels["cats/rgba.png"] == 0  # transparent white over black is black
    assert pixels["cats/grey.png"] == 100 and pixels["dogs/deep.png"] == round(60000 / 257)


def test_all_grey_images_give_one_channel(tmp_path):
    files = two_class_pngs()
    files["light/rgb_but_grey.png"] = png(Image.new("RGB", (12, 12), (90, 90, 90)))
    ds = load(f"folder:{write_tree(tmp_path / 'g', files)}")
    assert ds.images.shape[1:] == (12, 12, 1)


def test_non_square_images_are_padded_not_cropped():
    wide = Image.new("L", (20, 10), 255)

    out = to_model_image(wide, 20, 1)[..., 0]

    assert (out[:5] == 0).all() and (out[15:] == 0).all() and (out[5:15] == 255).all()


def test_phone_photos_are_turned_upright_by_exif():
    photo = Image.new("RGB", (20, 10), (255, 255, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees to display
    stored = Image.open(io.BytesIO(png(photo, "JPEG", exif=exif.tobytes())))

    out = to_model_image(stored, 20, 1)[..., 0]

    assert (out[:, :5] < 20).all() and (out[:, 15:] < 20).all() and (out[:, 6:14] > 235).all()


def test_nested_folders_use_the_top_class_below_a_common_root(tmp_path):
    files = two_class_pngs(prefix="data/")
    files["data/dark/older/deep.png"] = png(grey(12, 5))
    path = write_zip(tmp_path / "nested.zip", files)

    ds = load(f"folder:{path}")

    assert ds.class_names == ["dark", "light"] and np.bincount(ds.labels).tolist() == [7, 6]


def test_non_image_and_hidden_files_are_skipped_and_counted(tmp_path):
    files = two_class_pngs() | {"dark/notes.txt": b"hi", "README.md": b"# pets", "loose.png": png(grey(12, 1)),
                                "__MACOSX/dark/._0.png": b"junk", "light/.DS_Store": b"junk"}
    ds = load(f"folder:{write_zip(tmp_path / 'extra.zip', files)}")

    assert len(ds.images) == 12
    assert "2 non-image files skipped" in ds.description
    assert "1 image outside the class folders skipped" in ds.description


def test_gif_uses_its_first_frame(tmp_path):
    frames = [grey(12, 250), grey(12, 5)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    files = two_class_pngs() | {"light/anim.gif": buffer.getvalue()}

    ds = load(f"folder:{write_zip(tmp_path / 'gif.zip', files)}", val_fraction=0, test_fraction=0.1)

    index = sorted(files).index("light/anim.gif")
    assert ds.images[index].min() > 200


def test_corrupt_image_is_named_in_the_error(tmp_path):
    files = two_class_pngs() | {"light/broken.png": png(grey(12, 3))[:40]}
    with pytest.raises(DataError, match="light/broken.png") as caught:
        load(f"folder:{write_zip(tmp_path / 'bad.zip', files)}")
    assert "damaged" in caught.value.message and "BytesIO" not in caught.value.message and caught.value.hint


@pytest.mark.parametrize("evil", ["../evil.png", "/etc/evil.png", "C:/evil.png", "dark/../../evil.png",
                                  "dark\\..\\..\\evil.png"])
def test_zip_slip_refuses_the_whole_zip(tmp_path, evil):
    files = two_class_pngs() | {evil: png(grey(12, 3))}
    with pytest.raises(DataError, match="points outside the archive"):
        load(f"folder:{write_zip(tmp_path / 'slip.zip', files)}")
    assert not (tmp_path.parent / "evil.png").exists()


def test_zip_bomb_refused_from_its_compression_ratio(tmp_path):
    files = two_class_pngs() | {"dark/bomb.bmp": bytes(50 * 2**20)}
    with pytest.raises(DataError, match="zip bomb"):
        load(f"folder:{write_zip(tmp_path / 'bomb.zip', files)}")


def test_zip_too_big_once_unpacked_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(image_archives, "MAX_TOTAL_BYTES", 2000)
    with pytest.raises(DataError, match="MB limit"):
        load(f"folder:{write_zip(tmp_path / 'big.zip', two_class_pngs(n=20))}")


def test_zip_entry_larger_than_listed_is_refused(tmp_path):
    path = write_zip(tmp_path / "lie.zip", two_class_pngs(), compression=zipfile.ZIP_STORED)
    data = bytearray(path.read_bytes())
    central = data.rfind(b"PK\x01\x02")  # the last entry's central directory record
    struct.pack_into("<I", data, central + 24, 10)  # claims 10 bytes uncompressed
    path.write_bytes(bytes(data))

    with pytest.raises(DataError, match="light/5.png"):
        load(f"folder:{path}")


def test_too_many_images_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(image_archives, "MAX_IMAGES", 5)
    with pytest.raises(DataError, match="more than the 5"):
        load(f"folder:{write_tree(tmp_path / 'many', two_class_pngs())}")


def test_huge_image_refused_from_its_header(tmp_path, monkeypatch):
    monkeypatch.setattr(image_archives, "MAX_SIDE", 20)
    files = two_class_pngs() | {"dark/huge.png": png(grey(64, 0))}
    with pytest.raises(DataError, match="dark/huge.png.*too large"):
        load(f"folder:{write_tree(tmp_path / 'h', files)}")


def test_pillow_decompression_bomb_warning_becomes_an_error(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 12 x 12 = 144 pixels: warned by Pillow
    with pytest.raises(DataError, match="too large"):
        load(f"folder:{write_tree(tmp_path / 'w', two_class_pngs())}")


def test_one_class_zip_is_refused(tmp_path):
    files = {f"only/{i}.png": png(grey(8, i)) for i in range(6)}
    with pytest.raises(DataError, match="one class folder") as caught:
        load(f"folder:{write_zip(tmp_path / 'one.zip', files)}")
    assert "other class" in caught.value.hint


def test_empty_missing_and_non_zip_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images inside class folders"):
        load(f"folder:{tmp_path / 'empty'}")
    with pytest.raises(DataError, match="no folder or zip"):
        load(f"folder:{tmp_path / 'missing'}")
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(DataError, match="neither a folder nor a zip"):
        load(f"folder:{tmp_path / 'x.txt'}")


def test_folder_max_rows_samples_before_decoding(tmp_path):
    files = two_class_pngs(n=10) | {"dark/broken.png": b"not an image"}
    root = write_tree(tmp_path / "s", files)
    ds = load(f"folder:{root}", max_rows=8, seed=0, val_fraction=0.25, test_fraction=0)
    assert len(ds.images) == 8 and "a sample of 8 used" in ds.description


# --- conversion --------------------------------------------------------------------------------


def test_convert_images_picks_common_size_and_colour():
    out = convert_images([grey(8, 10), colour(8), grey(4, 10, height=8)], None, None)
    assert out.shape == (3, 8, 8, 3) and out.dtype == np.uint8


def test_to_model_image_from_canvas_rgba_array():
    canvas = np.zeros((40, 40, 4), dtype=np.uint8)  # transparent background
    canvas[10:30, 18:22] = (255, 255, 255, 255)  # a white stroke

    out = to_model_image(canvas, 8, 1)

    assert out.shape == (8, 8, 1) and out[0, 0, 0] == 0 and out[4, 4, 0] > 100


def test_to_model_image_from_float_array_and_bad_settings():
    out = to_model_image(np.ones((6, 6)), 6, 3)
    assert out.shape == (6, 6, 3) and (out == 255).all()
    with pytest.raises(DataError, match="channels"):
        to_model_image(np.ones((6, 6)), 6, 2)
    with pytest.raises(BigModelError, match="image.size"):  # DataConfig itself may refuse it (ConfigError)
        load("builtin:digits", image_size=0)


def test_arrays_and_pictures_are_converted_alike():
    rgba = np.random.default_rng(2).integers(0, 256, (3, 9, 6, 4), dtype=np.uint8)
    from_arrays = convert_images(rgba, 12, 1)
    from_pictures = convert_images([Image.fromarray(a, mode="RGBA") for a in rgba], 12, 1)
    assert np.abs(from_arrays.astype(int) - from_pictures).max() <= 1
