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
from ui.i18n import t, tr

SOURCES = ("builtin", "upload", "download")
CHANNELS = (None, 1, 3)  # as stored, grey, colour


def enlarge(img: np.ndarray, target: int = 96) -> np.ndarray:
    """Nearest-neighbour enlargement so an 8x8 digit is visible as crisp blocks, not a blur."""
    factor = max(1, target // img.shape[0])
    out = np.kron(img, np.ones((factor, factor, 1), dtype=img.dtype))
    return out[:, :, 0] if out.shape[2] == 1 else out


def choose_source(cfg: DataConfig) -> DataConfig:
    """Built-in digits, an uploaded .zip (one folder per class) or .npz, or a downloaded set."""
    kind = cfg.spec.split(":", 1)[0]
    current = {"folder": "upload", "npz": "upload"}.get(kind, kind if kind in SOURCES else "builtin")
    labels = {s: t(f"data.image.source.{s}") for s in SOURCES}
    choice = st.radio(t("data.image.source"), SOURCES, format_func=labels.get,
                      index=SOURCES.index(current), horizontal=True, key="data_image_source",
                      help=t("data.image.source_help"))
    if choice == "builtin":
        st.info(t("data.image.builtin_info"), icon="ℹ️")
        return replace(cfg, spec="builtin:digits")
    if choice == "upload":
        upload = st.file_uploader(t("data.image.upload"), type=["zip", "npz"], key="data_image_upload",
                                  help=t("data.image.upload_help"))
        if upload is None and kind not in ("folder", "npz"):
            st.info(t("data.image.upload_first"), icon="⬆️")
            st.stop()
        if upload is None:
            return cfg
        with guarded():
            path = save_upload(upload.name, upload.getvalue(), check=check_image_upload)  # a bad file is not kept
        return replace(cfg, spec=f"{'npz' if path.suffix.lower() == '.npz' else 'folder'}:{path}")
    names = list(IMAGE_CORPORA)
    name = st.selectbox(t("data.image.corpus"), names, index=names.index(cfg.spec[9:]) if cfg.spec[9:] in names else 0,
                        key="data_image_corpus", format_func={n: tr(IMAGE_CORPORA[n].title) for n in names}.get,
                        help=t("data.image.corpus_help"))
    download_if_needed(image_corpus_info(name), "data_image_download",
                       lambda progress: download_images(name, progress=progress))
    return replace(cfg, spec=f"download:{name}", max_rows=cfg.max_rows or 10_000)


def choose_options(cfg: DataConfig) -> DataConfig:
    """Image size and colour, augmentation, how many images, and the split."""
    with st.expander(t("data.image.options"), expanded=False):
        c1, c2, c3 = st.columns(3)
        size = c1.number_input(t("data.image.size"), 0, 256, cfg.image_size or 0, key="data_img_size",
                               help=t("data.image.size_help"))
        ch = c1.selectbox(t("data.image.colour"), range(len(CHANNELS)), index=CHANNELS.index(cfg.channels),
                          key="data_img_channels",
                          format_func={i: t(f"data.image.colour.{i}") for i in range(len(CHANNELS))}.get,
                          help=t("data.image.colour_help"))
        shift = c2.number_input(t("data.image.shift"), 0, 16, cfg.augment_shift, key="data_aug_shift",
                                help=t("data.image.shift_help"))
        rotate = c2.number_input(t("data.image.rotate"), 0.0, 45.0, float(cfg.augment_rotate), 5.0,
                                 key="data_aug_rotate", help=t("data.image.rotate_help"))
        flip = c2.checkbox(t("data.image.flip"), cfg.augment_flip, key="data_aug_flip", help=t("data.image.flip_help"))
        max_rows = c3.number_input(t("data.image.max_rows"), 0, 1_000_000, cfg.max_rows or 0, step=1000,
                                   key="data_img_max_rows", help=t("data.image.max_rows_help"))
        val = c3.slider(t("data.split.val"), 0.05, 0.4, cfg.val_fraction, 0.05, key="data_img_val",
                        help=t("data.split.val_help"))
        test = c3.slider(t("data.split.test"), 0.0, 0.4, cfg.test_fraction, 0.05, key="data_img_test",
                         help=t("data.split.test_help"))
    return replace(cfg, image_size=int(size) or None, channels=CHANNELS[ch],
                   augment_shift=int(shift), augment_rotate=float(rotate), augment_flip=flip,
                   max_rows=int(max_rows) or None, val_fraction=val, test_fraction=test)


def show_overview(overview: dict) -> None:
    """Counts, class balance, a grid of examples per class, and the augmentation preview."""
    h, w, c = overview["image_shape"]
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(t("data.image.images"), f"{overview['rows']:,}", help=t("data.image.images_help"))
    c2.metric(t("data.classes"), len(overview["classes"]), help=t("data.classes_help"))
    c3.metric(t("data.image.shape"), f"{h}×{w}×{c}", help=t("data.image.shape_help"))
    c4.metric(t("data.split.metric"), " / ".join(f"{overview['split'][k]:,}" for k in ("train", "val", "test")),
              help=t("data.split.metric_help"))
    if overview.get("description"):
        st.caption(tr(overview["description"]))
    st.plotly_chart(charts.class_balance(overview["class_counts"]), width="stretch", key="data_balance")
    st.caption(t("data.chart.balance_help"))
    st.subheader(t("data.image.examples"))
    for name, images in overview["samples"].items():
        st.image([enlarge(img) for img in images], caption=[name] * len(images), width=72)
    if overview.get("augmented") is not None:
        st.subheader(t("data.image.augmented"))
        st.caption(t("data.image.augmented_help"))
        st.image([enlarge(img) for img in overview["original"]], width=72)
        st.image([enlarge(img) for img in overview["augmented"]], width=72)
