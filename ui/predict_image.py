"""Predict page, image part: draw, upload or pick an image; top-3 classes; LIME and gradients side by side."""
from __future__ import annotations

import numpy as np
import streamlit as st

from bigmodel_core.data import prepare_drawing, prepare_upload
from bigmodel_core.errors import InputError
from bigmodel_core.explain import explain_image_views
from ui import charts, state
from ui.data_image import enlarge
from ui.feedback import guarded

SOURCES = {"draw": "✏️ Draw", "upload": "⬆️ Upload a picture", "test": "🗂️ Pick a test image"}


def _draw(size: int, channels: int):
    from streamlit_drawable_canvas import (
        st_canvas,  # registers a component on import: only inside a page run
    )

    st.caption("Draw with the mouse (or a finger) — big and in the middle works best.")
    canvas = st_canvas(stroke_width=22, stroke_color="#FFFFFF", background_color="#000000", height=280, width=280,
                       drawing_mode="freedraw", key="predict_canvas", return_image_data=True)
    if canvas.image_data is None:
        st.info("Draw a digit on the black square.", icon="✏️")
        st.stop()
    try:
        return prepare_drawing(np.asarray(canvas.image_data, dtype=np.uint8), size, channels, return_steps=True)
    except InputError as exc:
        st.info(f"{exc.message} {exc.hint}", icon="✏️")
        st.stop()


def _input_image(model) -> tuple[np.ndarray, np.ndarray | None]:
    """(the model's input, what the user gave) for the chosen way of giving an image."""
    size, channels = model.preprocess.size, model.preprocess.channels
    how = st.radio("Image", list(SOURCES), format_func=SOURCES.get, horizontal=True, key="predict_image_source")
    if how == "draw":
        image, steps = _draw(size, channels)
        return image, steps["grey"]
    if how == "upload":
        up = st.file_uploader("A PNG, JPEG, BMP, GIF or WebP picture", type=["png", "jpg", "jpeg", "bmp", "gif", "webp"],
                              key="predict_image_upload")
        if up is None:
            st.info("Upload a picture to classify.", icon="⬆️")
            st.stop()
        with guarded():
            image, steps = prepare_upload(up, size, channels, return_steps=True)
        return image, steps.get("grey")
    with guarded():
        images, labels = state.test_images(model.run_id, model.info)
    i = st.slider("Test image number", 0, len(images) - 1, 0, key="predict_test_index")
    st.caption(f"The true class of this image is **{labels[i]}**.")
    return images[i], None


def render(model) -> None:
    """`model` is a loaded ImagePredictor."""
    image, given = _input_image(model)
    st.session_state["predict_image"] = image  # the Inside the CNN page follows this picture
    with guarded():
        result = model.predict(image, top=3)
    c1, c2, c3 = st.columns([1, 1, 2])
    if given is not None:
        c1.image(given, caption="What you gave", width=160, clamp=True)
    c2.image(enlarge(image, 160), caption=f"What the model sees ({image.shape[0]}×{image.shape[1]})", width=160)
    c3.markdown(f"### Prediction: **{result['prediction']}**")
    c3.plotly_chart(charts.top_classes(result["top"]), width="stretch", key="predict_top3")

    st.markdown("### Which pixels mattered?")
    k1, k2, k3 = st.columns(3)
    samples = k1.select_slider("LIME samples", [200, 500, 1000, 2000], 1000, key="predict_img_samples")
    seed = k2.number_input("Seed", 0, 10_000, 0, key="predict_img_seed", help="The same seed gives the same explanation.")
    classes = model.class_names
    label = k3.selectbox("Class to explain", classes, index=classes.index(result["prediction"]), key="predict_img_label")
    with guarded():
        views = explain_image_views(model, image, num_samples=samples, seed=int(seed), label=label)
    cols = st.columns(3)
    titles = {"lime": "LIME (superpixels)", "saliency": "Gradient saliency", "ig": "Integrated Gradients"}
    notes = {"lime": "Hides regions at random and sees how the answer changes.",
             "saliency": "How much a tiny change of each pixel would change the score.",
             "ig": "Adds up the gradients on the way from a black image to this one."}
    for col, (key, exp) in zip(cols, views.items()):
        col.plotly_chart(charts.image_overlay(exp.image, exp.heatmap, titles[key], exp.signed), width="stretch",
                         key=f"predict_overlay_{key}")
        col.caption(notes[key])
