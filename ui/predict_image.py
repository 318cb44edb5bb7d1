"""Predict page, image part: draw, upload or pick an image; top-3 classes; LIME and gradients side by side."""
from __future__ import annotations

import numpy as np
import streamlit as st

from bigmodel_core.data import prepare_drawing, prepare_upload
from bigmodel_core.errors import InputError
from bigmodel_core.explain import explain_image_views
from ui import charts, course, page, state
from ui.data_image import enlarge
from ui.feedback import guarded
from ui.i18n import t, tr

SOURCES = {"draw": "✏️", "upload": "⬆️", "test": "🗂️"}  # way of giving an image -> its icon


def _source_label(how: str) -> str:
    return f"{SOURCES[how]} {t(f'predict.image.source.{how}')}"


def _draw(size: int, channels: int):
    from streamlit_drawable_canvas import (
        st_canvas,  # registers a component on import: only inside a page run
    )

    st.caption(t("predict.image.draw_caption"))
    canvas = st_canvas(stroke_width=22, stroke_color="#FFFFFF", background_color="#000000", height=280, width=280,
                       drawing_mode="freedraw", key="predict_canvas", return_image_data=True)
    if canvas.image_data is None:
        st.info(t("predict.image.draw_info"), icon="✏️")
        st.stop()
    try:
        return prepare_drawing(np.asarray(canvas.image_data, dtype=np.uint8), size, channels, return_steps=True)
    except InputError as exc:
        st.info(f"{tr(exc.message)} {tr(exc.hint)}".strip(), icon="✏️")
        st.stop()


def _input_image(model) -> tuple[np.ndarray, np.ndarray | None]:
    """(the model's input, what the user gave) for the chosen way of giving an image."""
    size, channels = model.preprocess.size, model.preprocess.channels
    how = st.radio(t("predict.image.source"), list(SOURCES), format_func=_source_label, horizontal=True,
                   key="predict_image_source", help=t("predict.image.source_help"))
    if how == "draw":
        image, steps = _draw(size, channels)
        return image, steps["grey"]
    if how == "upload":
        up = st.file_uploader(t("predict.image.upload"), type=["png", "jpg", "jpeg", "bmp", "gif", "webp"],
                              key="predict_image_upload", help=t("predict.image.upload_help"))
        if up is None:
            st.info(t("predict.image.upload_info"), icon="⬆️")
            st.stop()
        with guarded():
            image, steps = prepare_upload(up, size, channels, return_steps=True)
        return image, steps.get("grey")
    with guarded():
        images, labels = state.test_images(model.run_id, model.info)
    i = st.slider(t("predict.image.test_index"), 0, len(images) - 1, 0, key="predict_test_index",
                  help=t("predict.image.test_index_help"))
    st.caption(t("predict.image.true_class", label=labels[i]))
    return images[i], None


def render(model) -> None:
    """`model` is a loaded ImagePredictor."""
    image, given = _input_image(model)
    st.session_state["predict_image"] = image  # the Inside the CNN page follows this picture
    with guarded():
        result = model.predict(image, top=3)
    c1, c2, c3 = st.columns([1, 1, 2])
    if given is not None:
        c1.image(given, caption=t("predict.image.given"), width=160, clamp=True)
    c2.image(enlarge(image, 160), caption=t("predict.image.seen", h=image.shape[0], w=image.shape[1]), width=160)
    c3.markdown(t("predict.verdict", label=result["prediction"]))
    c3.plotly_chart(charts.top_classes(result["top"]), width="stretch", key="predict_top3")
    c3.caption(t("predict.image.top3_caption"))
    page.done("predict")

    st.markdown("### " + t("predict.image.why"))
    k1, k2, k3 = st.columns(3)
    samples = k1.select_slider(t("predict.samples"), [200, 500, 1000, 2000], 1000, key="predict_img_samples",
                               help=t("predict.image.samples_help"))
    seed = k2.number_input(t("predict.seed"), 0, 10_000, 0, key="predict_img_seed", help=t("predict.seed_help"))
    classes = model.class_names
    label = k3.selectbox(t("predict.label"), classes, index=classes.index(result["prediction"]), key="predict_img_label",
                         help=t("predict.image.label_help"))
    course.explain("explain", method="lime", points=int(samples))
    with guarded():
        views = explain_image_views(model, image, num_samples=samples, seed=int(seed), label=label)
    cols = st.columns(3)
    for col, (key, exp) in zip(cols, views.items()):  # key: lime, saliency, ig
        col.plotly_chart(charts.image_overlay(exp.image, exp.heatmap, t(f"predict.image.title.{key}"), exp.signed),
                         width="stretch", key=f"predict_overlay_{key}")
        col.caption(t(f"predict.image.note.{key}"))
    page.done("inside")
