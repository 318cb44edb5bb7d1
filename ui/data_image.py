"""Data page, image part: where the images come from, their size and augmentation, and a look at them."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import streamlit as st

from bigmodel_core.config import DataConfig
from bigmodel_core.data import (
    IMAGE_CORPORA,
    check_image_upload,
    download_images,
    image_corpus_info,
    save_upload,
)
from ui import charts
from ui.downloads import download_if_needed
from ui.feedback import guarded

SOURCES = {"builtin": "Built-in digits (offline)", "upload": "Upload my own images", "download": "Download a real set"}


def enlarge(img: np.ndarray, target: int = 96) -> np.ndarray:
    """Nearest-neighbour enlargement so an 8x8 digit is visible as crisp blocks, not a blur."""
    factor = max(1, target // img.shape[0])
    out = np.kron(img, np.ones((factor, factor, 1), dtype=img.dtype))
    return out[:, :, 0] if out.shape[2] == 1 else out


def choose_source(cfg: DataConfig) -> DataConfig:
    """Built-in digits, an uploaded .zip (one folder per class) or .npz, or a downloaded set."""
    kind = cfg.spec.split(":", 1)[0]
    current = {"folder": "upload", "npz": "upload"}.get(kind, kind if kind in SOURCES else "builtin")
    choice = st.radio("Where do the images come from?", list(SOURCES), format_func=SOURCES.get,
                      index=list(SOURCES).index(current), horizontal=True, key="data_image_source")
    if choice == "builtin":
        st.info("scikit-learn's handwritten digits: 1,797 tiny 8×8 pictures of the digits 0–9, "
                "on this computer already.", icon="ℹ️")
        return replace(cfg, spec="builtin:digits")
    if choice == "upload":
        upload = st.file_uploader("A .zip with one folder per class (PNG, JPEG, BMP, GIF, WebP), or an .npz with "
                                  "arrays images + labels", type=["zip", "npz"], key="data_image_upload")
        if upload is None and kind not in ("folder", "npz"):
            st.info("Upload a file to continue: for example cats/1.png, cats/2.png, dogs/1.png … zipped together.",
                    icon="⬆️")
            st.stop()
        if upload is None:
            return cfg
        with guarded():
            path = save_upload(upload.name, upload.getvalue(), check=check_image_upload)  # a bad file is not kept
        return replace(cfg, spec=f"{'npz' if path.suffix.lower() == '.npz' else 'folder'}:{path}")
    names = list(IMAGE_CORPORA)
    name = st.selectbox("Image set", names, index=names.index(cfg.spec[9:]) if cfg.spec[9:] in names else 0,
                        key="data_image_corpus", format_func=lambda n: IMAGE_CORPORA[n].title)
    download_if_needed(image_corpus_info(name), "data_image_download",
                       lambda progress: download_images(name, progress=progress))
    return replace(cfg, spec=f"download:{name}", max_rows=cfg.max_rows or 10_000)


def choose_options(cfg: DataConfig) -> DataConfig:
    """Image size and colour, augmentation, how many images, and the split."""
    with st.expander("Size, colour and augmentation", expanded=False):
        c1, c2, c3 = st.columns(3)
        size = c1.number_input("Image size in pixels (0 = as stored)", 0, 256, cfg.image_size or 0, key="data_img_size",
                               help="Every image is resized to this square size.")
        ch_opts = ["as stored", "grey (1 channel)", "colour (3 channels)"]
        ch = c1.selectbox("Colour", ch_opts, index={None: 0, 1: 1, 3: 2}[cfg.channels], key="data_img_channels")
        shift = c2.number_input("Random shift (pixels)", 0, 16, cfg.augment_shift, key="data_aug_shift",
                                help="Training images move a little each time, so the network learns position does not matter.")
        rotate = c2.number_input("Random rotation (degrees)", 0.0, 45.0, float(cfg.augment_rotate), 5.0, key="data_aug_rotate")
        flip = c2.checkbox("Random left-right flip", cfg.augment_flip, key="data_aug_flip",
                           help="Good for photos; not for digits (a mirrored 7 is not a 7).")
        max_rows = c3.number_input("Use at most this many images (0 = all)", 0, 1_000_000, cfg.max_rows or 0, step=1000,
                                   key="data_img_max_rows", help="Fewer images train faster in class.")
        val = c3.slider("Validation share", 0.05, 0.4, cfg.val_fraction, 0.05, key="data_img_val")
        test = c3.slider("Test share", 0.0, 0.4, cfg.test_fraction, 0.05, key="data_img_test")
    return replace(cfg, image_size=int(size) or None, channels={0: None, 1: 1, 2: 3}[ch_opts.index(ch)],
                   augment_shift=int(shift), augment_rotate=float(rotate), augment_flip=flip,
                   max_rows=int(max_rows) or None, val_fraction=val, test_fraction=test)


def show_overview(overview: dict) -> None:
    """Counts, class balance, a grid of examples per class, and the augmentation preview."""
    h, w, c = overview["image_shape"]
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Images", f"{overview['rows']:,}")
    c2.metric("Classes", len(overview["classes"]))
    c3.metric("Image size", f"{h}×{w}×{c}", help="height × width × colour channels")
    c4.metric("Train / val / test", " / ".join(f"{overview['split'][k]:,}" for k in ("train", "val", "test")))
    if overview.get("description"):
        st.caption(overview["description"])
    st.plotly_chart(charts.class_balance(overview["class_counts"]), width="stretch", key="data_balance")
    st.subheader("Examples of each class")
    for name, images in overview["samples"].items():
        st.image([enlarge(img) for img in images], caption=[name] * len(images), width=72)
    if overview.get("augmented") is not None:
        st.subheader("Augmentation preview")
        st.caption("Top: training images as stored. Bottom: the same images after one random augmentation.")
        st.image([enlarge(img) for img in overview["original"]], width=72)
        st.image([enlarge(img) for img in overview["augmented"]], width=72)
