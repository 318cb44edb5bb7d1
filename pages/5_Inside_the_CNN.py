"""Inside the CNN: for a trained image model and one picture, the filters and feature maps of every layer."""
import streamlit as st

from ui import page

page.setup("inside")  # a teacher's link is read, and the sidebar drawn, before anything else

from bigmodel_core.explain import EXPLAINERS, conv_filters, feature_maps, first_conv, layer_flow  # noqa: E402
from bigmodel_core.runs import home_dir  # noqa: E402
from ui import course, inside_view, state  # noqa: E402
from ui.data_image import enlarge  # noqa: E402
from ui.feedback import guarded  # noqa: E402
from ui.i18n import t  # noqa: E402
from ui.run_list import saved_runs  # noqa: E402

st.caption(t("inside.caption"))
runs = saved_runs("image", usable_only=True)
if not runs:
    st.info(t("inside.no_runs"), icon="🖼️")
    st.page_link("pages/1_Data.py", label=t("inside.go_data"), icon="➡️")
    st.stop()
ids = [r.id for r in runs]
wanted = st.session_state.get("predict_run")
run_id = st.selectbox(t("inside.run"), ids, index=ids.index(wanted) if wanted in ids else 0, key="inside_run",
                      help=t("inside.run_help"))
with guarded():
    model = state.predictor(run_id, str(home_dir()))
drawn = st.session_state.get("predict_image")
use_drawn = drawn is not None and drawn.shape == (model.preprocess.size, model.preprocess.size, model.preprocess.channels)
choice = st.radio(t("inside.picture"), ["drawn", "test"], horizontal=True, key="inside_source", index=0 if use_drawn else 1,
                  format_func=lambda c: t(f"inside.picture.{c}"), help=t("inside.picture_help"))
if choice == "drawn" and use_drawn:
    image = drawn
else:
    with guarded():
        images, labels = state.test_images(model.run_id, model.info)
    i = st.slider(t("inside.test_index"), 0, len(images) - 1, 0, key="inside_test_index",
                  help=t("inside.test_index_help"))
    image = images[i]
    st.caption(t("inside.true_class", label=labels[i]))
with guarded():
    result = model.predict(image)
    maps = feature_maps(model, image)
c1, c2 = st.columns([1, 3])
c1.image(enlarge(image, 160), caption=t("inside.input"), width=160)
c2.markdown(t("inside.verdict", label=result["prediction"],
              p=f"{result['probabilities'][result['prediction']]:.0%}"))
filters = conv_filters(model)
if filters:  # the first convolution, as this model has it: what the course's explanation works through
    course.explain("convolution", in_size=model.preprocess.size, **(first_conv(model) or {}))
tab_maps, tab_filters, tab_flow = st.tabs([t("inside.tab.maps"), t("inside.tab.filters"), t("inside.tab.flow")])
with tab_maps:
    inside_view.show_maps(maps, EXPLAINERS)
with tab_filters:
    if filters:
        inside_view.show_filters(filters, EXPLAINERS)
    else:
        st.info(t("inside.no_conv"), icon="ℹ️")
with tab_flow:
    inside_view.show_flow(layer_flow(model))
page.done("inside")
