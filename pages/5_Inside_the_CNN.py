"""Inside the CNN: for a trained image model and one picture, the filters and feature maps of every layer."""
import streamlit as st

from bigmodel_core.explain import EXPLAINERS, conv_filters, feature_maps, layer_flow
from bigmodel_core.runs import home_dir
from ui import inside_view, state
from ui.data_image import enlarge
from ui.feedback import guarded
from ui.run_list import saved_runs

st.set_page_config(page_title="Inside the CNN · BigModel Lab", page_icon="🔬", layout="wide")
from ui import links  # noqa: E402 (a teacher's link is read before anything is drawn)

links.apply()
st.title("🔬 Inside the CNN")
st.caption("Follow one picture through the network, layer by layer (in the spirit of CNN Explainer).")
runs = saved_runs("image", usable_only=True)
if not runs:
    st.info("There is no trained image model yet. Pick images on the Data page, then train one.", icon="🖼️")
    st.page_link("pages/1_Data.py", label="Go to Data", icon="➡️")
    st.stop()
ids = [r.id for r in runs]
wanted = st.session_state.get("predict_run")
run_id = st.selectbox("Model (saved run)", ids, index=ids.index(wanted) if wanted in ids else 0, key="inside_run")
with guarded():
    model = state.predictor(run_id, str(home_dir()))
drawn = st.session_state.get("predict_image")
use_drawn = drawn is not None and drawn.shape == (model.preprocess.size, model.preprocess.size, model.preprocess.channels)
choice = st.radio("Picture", ["drawn", "test"], horizontal=True, key="inside_source", index=0 if use_drawn else 1,
                  format_func={"drawn": "The one from the Predict page", "test": "A test image"}.get)
if choice == "drawn" and use_drawn:
    image = drawn
else:
    with guarded():
        images, labels = state.test_images(model.run_id, model.info)
    i = st.slider("Test image number", 0, len(images) - 1, 0, key="inside_test_index")
    image = images[i]
    st.caption(f"True class: **{labels[i]}**")
with guarded():
    result = model.predict(image)
    maps = feature_maps(model, image)
c1, c2 = st.columns([1, 3])
c1.image(enlarge(image, 160), caption="Input", width=160)
c2.markdown(f"### The model says: **{result['prediction']}** ({result['probabilities'][result['prediction']]:.0%})")
tab_maps, tab_filters, tab_flow = st.tabs(["Feature maps, layer by layer", "Learned filters", "Shapes and parameters"])
with tab_maps:
    inside_view.show_maps(maps, EXPLAINERS)
with tab_filters:
    filters = conv_filters(model)
    if filters:
        inside_view.show_filters(filters, EXPLAINERS)
    else:
        st.info("This model has no convolution layers (an MLP looks at all pixels at once).", icon="ℹ️")
with tab_flow:
    inside_view.show_flow(layer_flow(model))
