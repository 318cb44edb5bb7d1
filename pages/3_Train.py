"""Train page: training settings, the Train/Stop buttons, live curves, and the results."""

import streamlit as st

from bigmodel_core.config import TrainConfig
from bigmodel_core.training.devices import list_devices
from ui import state
from ui.feedback import guarded
from ui.training_view import render_epochs, render_progress, render_result

EPOCH_REDRAW_S = 3.0  # per-epoch curves change once an epoch: redrawing them every second cost training speed

st.set_page_config(page_title="Train · BigModel Lab", page_icon="📈", layout="wide")
st.title("📈 Train")
cfg = state.train_cfg()
model = state.model_cfg()
st.caption(f"Data **{state.data_cfg().spec}** · model **{model.name}** "
           + (f"({', '.join(f'{k}={v}' for k, v in model.params.items())})" if model.params else "(classroom size)")
           + (f" · word vectors **{model.embeddings}** ({'frozen' if model.freeze_embeddings else 'fine-tuned'})"
              if model.embeddings else ""))

with st.expander("Training settings", expanded=False):
    c1, c2, c3 = st.columns(3)
    opts = ["adam", "adamw", "sgd"]
    optimizer = c1.selectbox("Optimizer", opts, index=opts.index(cfg.optimizer), key="train_optimizer")
    lr = c1.number_input("Learning rate", 1e-5, 1.0, cfg.lr, format="%.4f", key="train_lr")
    epochs = c2.number_input("Epochs", 1, 200, cfg.epochs, key="train_epochs")
    batch = c2.number_input("Batch size", 1, 4096, cfg.batch_size, key="train_batch")
    wd = c3.number_input("Weight decay", 0.0, 1.0, cfg.weight_decay, format="%.4f", key="train_wd")
    clip = c3.number_input("Gradient clipping (0 = off)", 0.0, 100.0, cfg.grad_clip or 0.0, key="train_clip")
    c1, c2, c3 = st.columns(3)
    patience = c1.number_input("Early stopping patience (0 = off)", 0, 50, cfg.early_stopping_patience or 0,
                               key="train_patience", help="Stop when validation accuracy has not improved for this many epochs.")
    seed = c1.number_input("Seed", 0, 100_000, cfg.seed, key="train_seed")
    devices = list_devices()
    ids = [d["id"] for d in devices]
    device = c2.selectbox("Device", ids, index=ids.index(cfg.device) if cfg.device in ids else 0, key="train_device",
                          format_func=lambda i: next(f"{d['name']} · {d['detail']}" for d in devices if d["id"] == i))
    threads = c3.number_input("CPU threads (0 = automatic)", 0, 256, cfg.num_threads or 0, key="train_threads")
    momentum = c3.number_input("SGD momentum", 0.0, 0.999, cfg.momentum, key="train_momentum")
    cfg = TrainConfig(optimizer=optimizer, lr=float(lr), epochs=int(epochs), batch_size=int(batch), weight_decay=float(wd),
                      grad_clip=float(clip) or None, early_stopping_patience=int(patience) or None, seed=int(seed),
                      device=device, num_threads=int(threads) or None, momentum=float(momentum))
state.set_train_cfg(cfg)

job = state.current_job()
busy = job is not None and not job.finished
c1, c2, _ = st.columns([1, 1, 4])
if c1.button("▶ Train", type="primary", disabled=busy, key="train_start"):
    with guarded():
        state.start_training()
    st.rerun()
if c2.button("⏹ Stop", disabled=not busy, key="train_stop", help="Stops after the current batch and keeps what was learned."):
    state.job_manager().stop(job.id)

if job is None:
    st.info("Press **Train** to start. The curves appear here and update every second.", icon="📈")
    st.stop()


@st.fragment(run_every=1.0 if busy else None)
def live() -> None:
    current = state.current_job()
    render_progress(current)
    if busy and current.finished:
        st.rerun()  # the whole page switches to the results


@st.fragment(run_every=EPOCH_REDRAW_S if busy else None)
def per_epoch() -> None:
    render_epochs(state.current_job())


live()
if job.status != "queued":
    per_epoch()
if not busy:  # the state read at the top: a job that ends during this run shows its result on the next one
    render_result(job)
