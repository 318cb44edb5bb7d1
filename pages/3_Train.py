"""Train page: training settings, the Train/Stop buttons, live curves, and the results."""

from dataclasses import asdict, replace

import streamlit as st

from bigmodel_core.config import SCHEDULES, TrainConfig
from bigmodel_core.training import compile_problem, list_devices, max_processes, precision_problem
from ui import course, links, page, state
from ui.feedback import show_error
from ui.i18n import t, tr
from ui.training_view import render_epochs, render_progress, render_result

EPOCH_REDRAW_S = 3.0  # per-epoch curves change once an epoch: redrawing them every second cost training speed

page.setup("train")
cfg = state.train_cfg()
model = state.model_cfg()
st.caption(t("train.caption", spec=state.data_cfg().spec, model=model.name)
           + (t("train.caption.params", params=", ".join(f"{k}={v}" for k, v in model.params.items())) if model.params
              else t("train.caption.classroom"))
           + (t("train.caption.vectors", vectors=model.embeddings,
                how=t("train.frozen" if model.freeze_embeddings else "train.fine_tuned")) if model.embeddings else ""))


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


def number(column, name: str, key: str, low, high, value, **kw) -> None:
    """A number box for setting `name`, its label and one-line explanation from train.json."""
    column.number_input(t(f"train.set.{name}"), low, high, value, key=key, help=t(f"train.set.{name}_help"),
                        disabled=links.locked(name), **kw)


with st.expander(t("train.settings"), expanded=False):
    c1, c2, c3 = st.columns(3)
    opts = ["adam", "adamw", "sgd"]
    if show("optimizer"):
        c1.selectbox(t("train.set.optimizer"), opts, index=opts.index(cfg.optimizer), key="train_optimizer",
                     on_change=optimizer_changed, help=t("train.set.optimizer_help"), disabled=links.locked("optimizer"))
    if show("lr"):
        number(c1, "lr", "train_lr", 1e-6, 1.0, cfg.lr, format="%.5f")
    if show("epochs"):
        number(c2, "epochs", "train_epochs", 1, 200, cfg.epochs)
    if show("batch_size"):
        number(c2, "batch_size", "train_batch", 1, 4096, cfg.batch_size)
    if show("weight_decay"):
        number(c3, "weight_decay", "train_wd", 0.0, 1.0, cfg.weight_decay, format="%.4f")
    if show("grad_clip"):
        number(c3, "grad_clip", "train_clip", 0.0, 100.0, cfg.grad_clip or 0.0)
    c1, c2, c3 = st.columns(3)
    if show("early_stopping_patience"):
        number(c1, "early_stopping_patience", "train_patience", 0, 50, cfg.early_stopping_patience or 0)
    if show("seed"):
        number(c1, "seed", "train_seed", 0, 100_000, cfg.seed)
    devices = list_devices()
    ids = [d["id"] for d in devices]
    names = {d["id"]: f"{tr(d['name'])} · {tr(d['detail'])}" for d in devices}  # labels made now, in this language
    if show("device"):
        c2.selectbox(t("train.set.device"), ids, index=ids.index(cfg.device) if cfg.device in ids else 0, key="train_device",
                     format_func=names.get,
                     help=t("train.set.device_help"), disabled=links.locked("device"))
    if show("num_threads"):
        number(c3, "num_threads", "train_threads", 0, 256, cfg.num_threads or 0)
    if show("momentum"):
        number(c3, "momentum", "train_momentum", 0.0, 0.999, cfg.momentum)
    c1, c2, _ = st.columns(3)
    if show("schedule"):
        c1.selectbox(t("train.set.schedule"), list(SCHEDULES), index=SCHEDULES.index(cfg.schedule), key="train_schedule",
                     format_func={s: t(f"train.schedule.{s}") for s in SCHEDULES}.get, help=t("train.set.schedule_help"),
                     disabled=links.locked("schedule"))
    if show("warmup_fraction"):
        number(c2, "warmup_fraction", "train_warmup", 0.0, 0.5, cfg.warmup_fraction, step=0.01)
    if show("grad_accumulation"):
        number(c3, "grad_accumulation", "train_accum", 1, 64, cfg.grad_accumulation)
    c1, c2, c3 = st.columns(3)
    cannot = compile_problem(st.session_state.get("train_device", cfg.device))
    if show("compile"):
        c3.checkbox(t("train.set.compile"), cfg.compile and not cannot, key="train_compile",
                    disabled=cannot is not None or links.locked("compile"),
                    help=tr(cannot) if cannot else t("train.set.compile_help"))
    precision = cfg.precision if not show("precision") else c1.selectbox(
        t("train.set.precision"), ["fp32", "bf16", "fp16"], index=["fp32", "bf16", "fp16"].index(cfg.precision),
        key="train_precision", disabled=links.locked("precision"), help=t("train.set.precision_help"))
    if (problem := precision_problem(precision, st.session_state.get("train_device", cfg.device))):
        c1.caption(t("train.precision_refused", problem=tr(problem)))
    most = max_processes(st.session_state.get("train_device", cfg.device))
    if show("processes"):
        c2.number_input(t("train.set.processes"), 1, max(most, 1), min(cfg.processes, most), key="train_processes",
                        disabled=most < 2 or links.locked("processes"),
                        help=t("train.set.processes_help") + ("" if most >= 2 else t("train.set.processes_one")))
state.set_train_cfg(settings())
links.share_box(list(WIDGETS))

chosen = state.train_cfg()
try:
    overview = state.data_overview(asdict(state.data_cfg()))
except Exception:  # noqa: BLE001 - the data is checked (and its error shown) when training starts
    overview = {}
course.explain("forward_loss_gd", lr=chosen.lr, batch_size=chosen.batch_size, model=model.name,
               num_classes=len(overview.get("classes") or ()) or None,
               n_train=(overview.get("split") or {}).get("train"))
if chosen.processes > 1:
    course.explain("distributed", processes=chosen.processes, batch_size=chosen.batch_size)

job = state.current_job()
busy = job is not None and not job.finished
c1, c2, _ = st.columns([1, 1, 4])
c1.button(t("train.start"), type="primary", disabled=busy, key="train_start", on_click=train_clicked,
          help=t("train.start_help"))
c2.button(t("train.stop"), disabled=not busy, key="train_stop", on_click=state.stop_training, help=t("train.stop_help"))
if (error := state.start_error()) is not None:
    show_error(error)
if state.left_shared_job():
    st.info(t("train.left_shared"), icon="👋")

if job is None:
    st.info(t("train.press_train"), icon="📈")
    if (rows := state.data_cfg().max_train_rows):
        st.caption(t("train.rows_preset", rows=f"{rows:,}", model=model.name))
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
