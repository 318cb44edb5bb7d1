"""Train page: training settings, the Train/Stop buttons, live curves, and the results."""

from dataclasses import replace

import streamlit as st

from bigmodel_core.config import SCHEDULES, TrainConfig
from bigmodel_core.training import compile_problem, list_devices, max_processes, precision_problem
from ui import links, state
from ui.feedback import show_error
from ui.training_view import render_epochs, render_progress, render_result

EPOCH_REDRAW_S = 3.0  # per-epoch curves change once an epoch: redrawing them every second cost training speed

st.set_page_config(page_title="Train · BigModel Lab", page_icon="📈", layout="wide")
links.apply()
st.title("📈 Train")
cfg = state.train_cfg()
model = state.model_cfg()
st.caption(f"Data **{state.data_cfg().spec}** · model **{model.name}** "
           + (f"({', '.join(f'{k}={v}' for k, v in model.params.items())})" if model.params else "(classroom size)")
           + (f" · word vectors **{model.embeddings}** ({'frozen' if model.freeze_embeddings else 'fine-tuned'})"
              if model.embeddings else ""))


# each setting's widget key and how its value is read back (a 0 means "off" / "automatic" for some)
WIDGETS = {"optimizer": ("train_optimizer", str), "lr": ("train_lr", float), "epochs": ("train_epochs", int),
           "batch_size": ("train_batch", int), "weight_decay": ("train_wd", float),
           "grad_clip": ("train_clip", lambda v: float(v) or None),
           "early_stopping_patience": ("train_patience", lambda v: int(v) or None), "seed": ("train_seed", int),
           "device": ("train_device", str), "num_threads": ("train_threads", lambda v: int(v) or None),
           "momentum": ("train_momentum", float), "schedule": ("train_schedule", str),
           "warmup_fraction": ("train_warmup", float), "grad_accumulation": ("train_accum", int),
           "precision": ("train_precision", str), "processes": ("train_processes", int), "compile": ("train_compile", bool)}
OFF_IS_ZERO = {"grad_clip", "early_stopping_patience", "num_threads"}


def settings() -> TrainConfig:
    """The training settings as the widgets hold them, read from session state (a callback runs before them);
    a setting a teacher's link hides or locks keeps the link's value."""
    s = st.session_state
    values = {name: read(s[key]) for name, (key, read) in WIDGETS.items()
              if key in s and not links.hidden(name) and not links.locked(name)}
    return replace(state.train_cfg(), **values)


def show(name: str) -> bool:
    return not links.hidden(name)


for _name in [n for n in WIDGETS if links.locked(n)]:  # a locked control shows the link's value, whatever was typed
    _value = getattr(cfg, _name)
    st.session_state[WIDGETS[_name][0]] = (_value or 0) if _name in OFF_IS_ZERO else _value


def optimizer_changed() -> None:
    """Adam and SGD apply weight decay as an L2 term, which AdamW's strong default would swamp."""
    s = st.session_state
    if s.get("train_optimizer") != "adamw" and float(s.get("train_wd", 0.0)) > 0.1 and not links.locked("weight_decay"):
        s["train_wd"] = 0.0


def train_clicked() -> None:
    """on_click of Train: submitting here keeps the queue in the order of the clicks."""
    state.set_train_cfg(settings())
    state.start_training()


with st.expander("Training settings", expanded=False):
    c1, c2, c3 = st.columns(3)
    opts = ["adam", "adamw", "sgd"]
    if show("optimizer"):
        c1.selectbox("Optimizer", opts, index=opts.index(cfg.optimizer), key="train_optimizer", on_change=optimizer_changed,
                     help="AdamW (the default) decays the weights apart from the gradient step; picking Adam or SGD "
                          "sets a strong weight decay back to 0.", disabled=links.locked("optimizer"))
    if show("lr"):
        c1.number_input("Learning rate", 1e-6, 1.0, cfg.lr, format="%.5f", key="train_lr",
                        help="How big a step each update takes. Small models learn fast at 0.01; a pretrained model "
                             "is fine-tuned gently, at about 0.00005, so it keeps what it learned before.", disabled=links.locked("lr"))
    if show("epochs"):
        c2.number_input("Epochs", 1, 200, cfg.epochs, key="train_epochs", disabled=links.locked("epochs"))
    if show("batch_size"):
        c2.number_input("Batch size", 1, 4096, cfg.batch_size, key="train_batch", disabled=links.locked("batch_size"))
    if show("weight_decay"):
        c3.number_input("Weight decay", 0.0, 1.0, cfg.weight_decay, format="%.4f", key="train_wd", disabled=links.locked("weight_decay"))
    if show("grad_clip"):
        c3.number_input("Gradient clipping (0 = off)", 0.0, 100.0, cfg.grad_clip or 0.0, key="train_clip", disabled=links.locked("grad_clip"))
    c1, c2, c3 = st.columns(3)
    if show("early_stopping_patience"):
        c1.number_input("Early stopping patience (0 = off)", 0, 50, cfg.early_stopping_patience or 0,
                        key="train_patience", help="Stop when validation accuracy has not improved for this many epochs.", disabled=links.locked("early_stopping_patience"))
    if show("seed"):
        c1.number_input("Seed", 0, 100_000, cfg.seed, key="train_seed", disabled=links.locked("seed"))
    devices = list_devices()
    ids = [d["id"] for d in devices]
    if show("device"):
        c2.selectbox("Device", ids, index=ids.index(cfg.device) if cfg.device in ids else 0, key="train_device",
                     format_func=lambda i: next(f"{d['name']} · {d['detail']}" for d in devices if d["id"] == i), disabled=links.locked("device"))
    if show("num_threads"):
        c3.number_input("CPU threads (0 = automatic)", 0, 256, cfg.num_threads or 0, key="train_threads", disabled=links.locked("num_threads"))
    if show("momentum"):
        c3.number_input("SGD momentum", 0.0, 0.999, cfg.momentum, key="train_momentum", disabled=links.locked("momentum"))
    c1, c2, _ = st.columns(3)
    if show("schedule"):
        c1.selectbox("Learning-rate schedule", list(SCHEDULES), index=SCHEDULES.index(cfg.schedule), key="train_schedule",
                     format_func={"constant": "constant", "warmup_linear": "warm-up, then linear decay",
                                  "warmup_cosine": "warm-up, then cosine decay"}.get,
                     help="Start gently (warm-up), then lower the rate so the last epochs settle instead of bouncing.", disabled=links.locked("schedule"))
    if show("warmup_fraction"):
        c2.number_input("Warm-up share of the steps", 0.0, 0.5, cfg.warmup_fraction, 0.01, key="train_warmup", disabled=links.locked("warmup_fraction"))
    if show("grad_accumulation"):
        c3.number_input("Gradient accumulation (batches per step)", 1, 64, cfg.grad_accumulation, key="train_accum",
                        help="Add up the gradients of several batches before one step: the effect of a bigger batch "
                             "without its memory.", disabled=links.locked("grad_accumulation"))
    c1, c2, c3 = st.columns(3)
    cannot = compile_problem(st.session_state.get("train_device", cfg.device))
    if show("compile"):
        c3.checkbox("torch.compile", cfg.compile and not cannot, key="train_compile",
                    disabled=cannot is not None or links.locked("compile"),
                    help=cannot or "Compile the model's training step into faster kernels. The first batches wait for "
                                   "the compiler (tens of seconds); long runs may then go faster.")
    precision = cfg.precision if not show("precision") else c1.selectbox(
        "Precision", ["fp32", "bf16", "fp16"], index=["fp32", "bf16", "fp16"].index(cfg.precision),
        key="train_precision", disabled=links.locked("precision"),
        help="fp32: full precision (always works). bf16 and fp16 compute in half the bits, faster "
             "on GPUs that support them; fp16 needs a GPU. The weights stay in full precision.")
    if (problem := precision_problem(precision, st.session_state.get("train_device", cfg.device))):
        c1.caption(f"⚠️ {problem} Training would be refused: choose fp32.")
    most = max_processes(st.session_state.get("train_device", cfg.device))
    if show("processes"):
        c2.number_input("Processes", 1, max(most, 1), min(cfg.processes, most), key="train_processes",
                        disabled=most < 2 or links.locked("processes"),
                        help="Processes that train the run together with PyTorch's distributed data parallel "
                             "(torchrun): each reads its own share of every batch and they average their gradients. "
                             "The batch size stays the same overall, so the run is the same on 1 or more processes."
                             + ("" if most >= 2 else " This computer has one core (or one GPU): one process."))
state.set_train_cfg(settings())
links.share_box(list(WIDGETS))

job = state.current_job()
busy = job is not None and not job.finished
c1, c2, _ = st.columns([1, 1, 4])
c1.button("▶ Train", type="primary", disabled=busy, key="train_start", on_click=train_clicked)
c2.button("⏹ Stop", disabled=not busy, key="train_stop", on_click=state.stop_training,
          help="Stops after the current batch and keeps what was learned. If others watch the same run, "
               "it goes on for them and only you stop watching.")
if (error := state.start_error()) is not None:
    show_error(error)
if state.left_shared_job():
    st.info("You stopped watching; the run goes on for the others who started it.", icon="👋")

if job is None:
    st.info("Press **Train** to start. The curves appear here and update every second.", icon="📈")
    if (rows := state.data_cfg().max_train_rows):
        st.caption(f"This run trains on at most {rows:,} examples ({model.name}'s classroom preset, so that a CPU "
                   "finishes in minutes); the time left shows after the first batch. Change it under Data → "
                   "text settings, or with --set max_train_rows=N on the command line.")
    st.stop()


@st.fragment(run_every=1.0 if busy else None)
def live() -> None:
    current = state.current_job()
    if current is None:  # forgotten by a long-running server
        st.rerun()
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
