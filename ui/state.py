"""Session state and shared resources: the chosen configs, the JobManager, cached engine calls."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

import streamlit as st

from bigmodel_core.config import (
    DEFAULT_MODELS,
    DataConfig,
    ModelConfig,
    TrainConfig,
    from_dict,
)

DEFAULT_MODEL = DEFAULT_MODELS["text"]


def _in_words(key: str, cached):
    """A cached function whose spinner speaks the user's language (a cache's own spinner text is fixed when this
    module loads); the spinner shows only when the call is slow, that is when the cache misses."""
    def call(*args: Any, **kwargs: Any):
        from ui.i18n import t

        with st.spinner(t(key)):
            return cached(*args, **kwargs)
    call.__doc__, call.__name__, call.clear = cached.__doc__, getattr(cached, "__name__", key), cached.clear
    return call


def data_cfg() -> DataConfig:
    return from_dict(DataConfig, st.session_state.get("data_cfg", {}))


def set_data_cfg(cfg: DataConfig) -> None:
    st.session_state["data_cfg"] = asdict(cfg)


def model_cfg() -> ModelConfig:
    """The chosen model; if it does not fit the chosen data (text vs images), that kind's default."""
    from bigmodel_core.models import model_entry

    cfg = from_dict(ModelConfig, st.session_state.get("model_cfg", {"name": DEFAULT_MODEL}))
    task = data_task(data_cfg())
    return cfg if model_entry(cfg.name).task == task else ModelConfig(DEFAULT_MODELS[task])


def set_model_cfg(cfg: ModelConfig) -> str:
    """Keep the chosen model; a change of model applies its preset (a pretrained model fine-tunes with a
    small learning rate) to the data and training settings. Returns what changed, in words ("" if nothing)."""
    from bigmodel_core.models import switch_preset

    old = st.session_state.get("model_cfg", {}).get("name", DEFAULT_MODEL)
    st.session_state["model_cfg"] = asdict(cfg)
    if old == cfg.name:
        return ""
    before = {**asdict(data_cfg()), **asdict(train_cfg())}
    data, train = switch_preset(data_cfg(), train_cfg(), old, cfg.name)
    set_data_cfg(data)
    set_train_cfg(train)
    after = {**asdict(data), **asdict(train)}
    return describe_settings({k: v for k, v in after.items() if before.get(k) != v})


SETTING_NAMES = ("lr", "max_train_rows", "epochs", "batch_size", "schedule", "warmup_fraction", "weight_decay",
                 "early_stopping_patience")  # named in words in widgets.json; others by their key


def describe_settings(settings: dict[str, Any]) -> str:
    """Settings in words for a caption: "learning rate 0.00005, epochs 2, early stopping patience off"."""
    from ui.i18n import t

    def show(v: Any) -> str:
        if v is None or v is False:
            return t("widgets.state.off")
        if isinstance(v, float):
            return f"{v:.6f}".rstrip("0").rstrip(".")
        if isinstance(v, int) and not isinstance(v, bool):
            return f"{v:,}"
        return str(v).replace("_", " ")

    def name(k: str) -> str:
        return t(f"widgets.state.setting.{k}") if k in SETTING_NAMES else k.replace("_", " ")
    return t("widgets.state.join").join(f"{name(k)} {show(v)}" for k, v in settings.items())


@st.cache_data(max_entries=16, show_spinner=False)
def size_against(info: dict, data: dict, vocab_size: int, num_classes: int) -> dict | None:
    """The chosen model's size and cost per example against the classroom LSTM's (cached per model)."""
    from bigmodel_core.models import size_against as against

    return against(info, from_dict(DataConfig, data), vocab_size, num_classes)


def train_cfg() -> TrainConfig:
    return from_dict(TrainConfig, st.session_state.get("train_cfg", {}))


def set_train_cfg(cfg: TrainConfig) -> None:
    st.session_state["train_cfg"] = asdict(cfg)


@st.cache_resource
def job_manager():
    """One JobManager per server process: all browsers share it, so jobs queue instead of clashing.

    How many train at once is chosen from the cores and memory (or BIGMODEL_MAX_JOBS); each job
    trains in a child process, so the pages' redraws never slow training.
    """
    from bigmodel_core.training import JobManager

    return JobManager(processes=True)


def data_overview(cfg: dict[str, Any], with_model: bool = True) -> dict[str, Any]:
    """The Data page's overview of `cfg`; with the word pieces of the chosen model when it has its own
    tokenizer (unless `with_model` is False: the Model page needs only the data's facts)."""
    from bigmodel_core.models import model_entry

    chosen = st.session_state.get("model_cfg", {})
    name = chosen.get("name")
    own = with_model and name in _model_names() and model_entry(name).pipeline is not None
    return _data_overview(cfg, chosen if own else None)


def _model_names() -> set[str]:
    from bigmodel_core.models import list_models

    return set(list_models())


@st.cache_data(show_spinner=False, max_entries=8)
def _data_overview_cached(cfg: dict[str, Any], model: dict[str, Any] | None) -> dict[str, Any]:
    from bigmodel_core.data import data_overview as overview

    return overview(from_dict(DataConfig, cfg), model=from_dict(ModelConfig, model) if model else None)


_data_overview = _in_words("widgets.busy.reading_data", _data_overview_cached)


@st.cache_resource(max_entries=4, show_spinner=False)
def _predictor(run_id: str, home: str):
    # One predictor per run for every session, and with runner.fastReruns a rerun's script starts
    # while the previous one is still inside an explanation: the predictor's own lock keeps its
    # model to one thread at a time (bigmodel_core.serve.bundle.BasePredictor.lock).
    from bigmodel_core.serve import load_bundle

    return load_bundle(run_id, home=home)


predictor = _in_words("widgets.busy.loading_model", _predictor)


def session_id() -> str:
    """This browser session's viewer id, kept in its session state.

    Streamlit's own session id would do in a browser, but every AppTest shares one, and the
    JobManager tells viewers of a shared job apart by this id.
    """
    import uuid

    return st.session_state.setdefault("viewer_id", uuid.uuid4().hex)


def start_training() -> None:
    """Button callback: submit the session's data/model/training choices as a job; remembers its id.

    Run it as the button's on_click, so that the queue follows the order of the clicks rather than
    the order in which the sessions' scripts reach the button. An identical unnamed config that is
    already queued or running is joined instead of trained again. A user mistake is kept for the
    page to show (start_error), since a callback cannot draw where the page wants it.
    """
    from bigmodel_core.config import RunConfig

    st.session_state.pop("train_left_shared", None)
    try:
        cfg = RunConfig(data=data_cfg(), model=model_cfg(), train=train_cfg())
        job = job_manager().submit(cfg, owner=session_id())
    except Exception as exc:  # noqa: BLE001 - shown on the page by start_error()
        st.session_state["train_start_error"] = exc
        return
    st.session_state["train_job"] = job.id


def start_demo() -> None:
    """Button callback: choose the demo preset (bigmodel_core.training.jobs.demo_config) and train it."""
    from bigmodel_core.training import demo_config

    cfg = demo_config()
    set_data_cfg(cfg.data)
    set_model_cfg(cfg.model)
    set_train_cfg(cfg.train)
    start_training()


def start_error():
    """The error the last start_training callback met, once (None if it went well)."""
    return st.session_state.pop("train_start_error", None)


def stop_training() -> None:
    """Button callback: stop this session's job, or, if others watch it too, stop watching it."""
    job = current_job()
    if job is None:
        return
    if not job_manager().stop(job.id, owner=session_id()):
        st.session_state.pop("train_job", None)
        st.session_state["train_left_shared"] = True


def left_shared_job() -> bool:
    """True once after this session stopped watching a job that others go on watching."""
    return bool(st.session_state.pop("train_left_shared", False))


def current_job():
    """This session's job (or None); telling the JobManager the page still shows it."""
    job_id = st.session_state.get("train_job")
    job_manager().touch(job_id, session_id())
    return job_manager().get(job_id)


def data_task(cfg: DataConfig) -> str:
    """'image' or 'text': what kind of data the session's dataset holds."""
    from bigmodel_core.data import is_image_spec

    return "image" if is_image_spec(cfg.spec) else "text"


@st.cache_resource
def embedding_jobs():
    """Word2Vec jobs: the same JobManager, running the Word2Vec trainer (gensim's C loops free the GIL)."""
    from bigmodel_core.embeddings import word2vec_job
    from bigmodel_core.training import JobManager

    return JobManager(max_running=1, runner=word2vec_job)


@st.cache_resource(max_entries=4, show_spinner=False)
def _vectors(set_id: str):
    from bigmodel_core.embeddings import load_vectors

    return load_vectors(set_id)


vectors = _in_words("widgets.busy.loading_vectors", _vectors)


@st.cache_data(max_entries=16, show_spinner=False)
def word_map_data(set_id: str, data_cfg: dict[str, Any], n: int, dims: int, method: str,
                  extra_words: tuple[str, ...] = ()) -> dict[str, Any]:
    from bigmodel_core.embeddings import embedding_map

    return embedding_map(set_id, from_dict(DataConfig, data_cfg), n=n, dims=dims, method=method,
                         extra_words=extra_words)


@st.cache_data(max_entries=4, show_spinner=False)
def _test_images(run_id: str, _info: dict):
    """An image run's own test images (keyed by run id; the run's info is not hashed)."""
    from bigmodel_core.data import test_images as load

    return load(_info)


test_images = _in_words("widgets.busy.loading_images", _test_images)


@st.cache_data(max_entries=8, show_spinner=False)
def _vectors_coverage(data_cfg: dict[str, Any], vectors: str) -> dict[str, Any]:
    from bigmodel_core.embeddings import vectors_coverage as coverage

    return coverage(from_dict(DataConfig, data_cfg), vectors)


vectors_coverage = _in_words("widgets.busy.checking_vectors", _vectors_coverage)


def vector_sets() -> list[dict[str, Any]]:
    """The saved word-vector sets, newest first (read from disk on every call: sets come and go)."""
    from bigmodel_core.embeddings import list_vector_sets

    return list_vector_sets()


@st.cache_data(max_entries=32, show_spinner=False)
def _text_views(run_id: str, home: str, text: str, samples: int, seed: int, label: str) -> dict[str, Any]:
    """LIME, IG, attention and agreement for one sentence (cached: picking a head or layer is instant)."""
    from bigmodel_core.explain import explain_text_views

    return explain_text_views(_predictor(run_id, home), text, num_samples=samples, seed=seed, label=label)


text_views = _in_words("widgets.busy.explaining", _text_views)


@st.cache_data(max_entries=64, show_spinner=False)
def _predict_latency(run_id: str, home: str, files: tuple) -> float | None:
    """Milliseconds to predict one sentence with a run (cached per run and its files)."""
    from bigmodel_core.runs import predict_latency_ms, read_run

    return predict_latency_ms(read_run(run_id, home), home=home)


predict_latency = _in_words("widgets.busy.timing", _predict_latency)
