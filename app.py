"""BigModel Lab home page: what the app is, the guided path, and a one-click demo."""
import streamlit as st

from ui import state
from ui.feedback import show_error


def main() -> None:
    st.set_page_config(page_title="BigModel Lab", page_icon="🧠", layout="wide")
    from ui import links

    links.apply()  # a teacher's link (?data=...&model=...&set.lr=...&hide=...&lock=...&present=1)
    st.title("🧠 BigModel Lab")
    st.markdown("Learn deep learning by doing it: pick a dataset and a network, **train it on this computer "
                "while you watch it learn**, then look inside and see *why* it decides what it decides.")
    st.subheader("The guided path")
    steps = [("pages/1_Data.py", "1 · Data", "📚", "Movie reviews or handwritten digits built in; or your own files."),
             ("pages/2_Model.py", "2 · Model", "🧩", "Choose a network: LSTM, TextCNN, Transformer, LeNet, ResNet…"),
             ("pages/3_Train.py", "3 · Train", "📈", "Press Train and watch the loss fall, live."),
             ("pages/4_Predict.py", "4 · Predict", "🔍", "Type a sentence or draw a digit; see the verdict and why."),
             ("pages/5_Inside_the_CNN.py", "5 · Inside the CNN", "🔬", "See the filters and what each layer saw."),
             ("pages/6_Embeddings.py", "6 · Embeddings", "🔤", "Train word vectors; explore neighbours and a 3-D map."),
             ("pages/7_Runs.py", "7 · Runs", "🗂️", "Compare your runs side by side; resume one that was cut off."),
             ("pages/8_Scaling.py", "8 · Scaling", "📐", "Train a model at several sizes and watch the scaling law appear."),
             ("pages/9_Optimize.py", "9 · Optimize", "🗜️", "Prune, quantize or distil a model; compare size, speed, accuracy."),
             ("pages/10_Deploy.py", "10 · Deploy", "🚀", "Export to ONNX and serve your model as a REST API; try it live.")]
    for row in (steps[:5], steps[5:]):  # two rows of five, read left to right
        for col, (page, label, icon, text) in zip(st.columns(5), row):
            with col:
                st.page_link(page, label=label, icon=icon)
                st.caption(text)
    st.subheader("One-click demo")
    st.write("Trains a small LSTM on the built-in reviews (about ten seconds on a laptop) and opens the Train page. "
             "If others in the room start it too, you all watch the same run.")
    if st.button("▶ Run the demo", type="primary", key="home_demo", on_click=state.start_demo):
        if (error := state.start_error()) is not None:
            show_error(error)
        else:
            st.switch_page("pages/3_Train.py")
    st.caption("Everything runs on your own machine and works offline.")


if __name__ == "__main__":
    main()
