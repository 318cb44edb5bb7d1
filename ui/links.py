"""Teacher links: a URL's query parameters set up a lesson for that browser session (TensorFlow Playground-style).

    ?data=SPEC&model=NAME&set.KEY=VALUE&hide=KEY,KEY&lock=KEY,KEY&present=1&lang=en|zh

- `data`, `model`, `set.KEY=VALUE` preselect the dataset, the model and any model, data or training
  setting (checked like the CLI's `--set`: a bad value is one plain error on the page).
- `hide` removes those settings' controls from the pages, `lock` shows them greyed out. A locked
  setting is put back on every run of a page, so it cannot drift.
- `present=1` is presenter mode: the whole interface larger, for a projector.
- `lang=en|zh` sets the interface language (the sidebar switch still changes it).
They are read on any page; a link's settings are applied once per link, so the user's own changes
to settings that are neither hidden nor locked stay theirs.
"""
from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from bigmodel_core.config import DataConfig, ModelConfig, TrainConfig
from bigmodel_core.errors import ConfigError, msg
from bigmodel_core.settings import parse_field
from ui import state
from ui.i18n import t

LINK_KEYS = ("data", "model", "hide", "lock", "present", "lang")


def _split(value: str) -> set[str]:
    return {v.strip() for v in str(value or "").split(",") if v.strip()}


def parse(params: dict[str, str]) -> dict[str, Any]:
    """The lesson a link describes: {"data", "model", "settings": {key: typed}, "hide", "lock", "present", "lang"}."""
    settings: dict[str, Any] = {}
    model = params.get("model")
    for key, raw in params.items():
        if not key.startswith("set."):
            continue
        name = key[4:]
        if name in {f.name for f in dataclasses.fields(TrainConfig)}:
            settings[name] = ("train", parse_field(TrainConfig, name, raw))
        elif name in {f.name for f in dataclasses.fields(DataConfig)} - {"spec"}:
            settings[name] = ("data", parse_field(DataConfig, name, raw))
        else:
            from bigmodel_core.models import model_entry

            entry = model_entry(model or state.model_cfg().name)
            if name not in entry.defaults:
                raise ConfigError(msg("errors.links.unknown_setting", "The link sets '{name}', which is not a setting "
                                      "of the model or of training.", name=name),
                                  msg("errors.links.unknown_setting.hint", "Check the link's set.KEY=VALUE parts, or ask "
                                      "for a new link."))
            settings[name] = ("model", entry.setting(name).parse(name, raw))
    return {"data": params.get("data"), "model": model, "settings": settings, "hide": _split(params.get("hide")),
            "lock": _split(params.get("lock")), "present": params.get("present") in ("1", "true", "yes"),
            "lang": _lang(params.get("lang"))}


def _lang(code: str | None) -> str | None:
    if code is None:
        return None
    from ui import i18n

    if i18n.normalise(code) is None:
        raise ConfigError(msg("errors.links.lang", "The link asks for the language '{code}', which the app does not have.",
                              code=code),
                          msg("errors.links.lang.hint", "Use lang=en for English or lang=zh for Chinese."))
    return i18n.normalise(code)


def apply() -> None:
    """Read this page's query parameters: apply a new link once, and its locked settings on every run."""
    params = {k: st.query_params[k] for k in st.query_params}
    if not params:
        return
    signature = urlencode(sorted(params.items()))
    try:
        lesson = parse(params)
    except ConfigError as exc:
        from ui.feedback import show_error

        show_error(exc)
        return
    first = st.session_state.get("link_applied") != signature
    chosen = {k for k in lesson["settings"]} if first else lesson["lock"]
    _set(lesson, chosen, first)
    st.session_state["link_applied"] = signature
    st.session_state["link_hide"], st.session_state["link_lock"] = sorted(lesson["hide"]), sorted(lesson["lock"])
    st.session_state["link_present"] = lesson["present"]
    if lesson["lang"]:
        st.session_state["link_lang"] = lesson["lang"]
        if first:  # the link's language wins once; the sidebar switch may change it afterwards
            from ui import i18n

            i18n.set_lang(lesson["lang"])


def _set(lesson: dict[str, Any], keys: set[str], first: bool) -> None:
    data, model, train = state.data_cfg(), state.model_cfg(), state.train_cfg()
    if first and lesson["data"]:
        data = dataclasses.replace(data, spec=lesson["data"])
    if first and lesson["model"]:
        model = ModelConfig(lesson["model"])
        state.set_data_cfg(data)
        state.set_model_cfg(model)  # the model's preset first: the link's own settings go over it
        data, train = state.data_cfg(), state.train_cfg()
    parts = {"data": {}, "model": {}, "train": {}}
    for key in keys:
        if key in lesson["settings"]:
            part, value = lesson["settings"][key]
            parts[part][key] = value
    data = dataclasses.replace(data, **parts["data"]) if parts["data"] else data
    train = dataclasses.replace(train, **parts["train"]) if parts["train"] else train
    if parts["model"]:
        model = ModelConfig(model.name, {**model.params, **parts["model"]}, model.embeddings, model.freeze_embeddings)
    state.set_data_cfg(data)
    state.set_model_cfg(model)
    state.set_train_cfg(train)


def hidden(setting: str) -> bool:
    return setting in st.session_state.get("link_hide", ())


def locked(setting: str) -> bool:
    return setting in st.session_state.get("link_lock", ())


def link_for(base: str, hide: list[str], lock: list[str]) -> str:
    """A link that sets up this session's data, model and every setting that differs from its default."""
    data, model, train = state.data_cfg(), state.model_cfg(), state.train_cfg()
    params: dict[str, str] = {"data": data.spec, "model": model.name}
    for cfg, default in ((data, DataConfig()), (train, TrainConfig())):
        for f in dataclasses.fields(cfg):
            value = getattr(cfg, f.name)
            if f.name != "spec" and value != getattr(default, f.name):
                params[f"set.{f.name}"] = "none" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    for key, value in model.params.items():
        params[f"set.{key}"] = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    if hide:
        params["hide"] = ",".join(hide)
    if lock:
        params["lock"] = ",".join(lock)
    return f"{base.rstrip('/')}?{urlencode(params, safe=',:/')}"


def share_box(settings: list[str]) -> None:
    """The "Copy a link to this setup" box: a checkbox per setting to hide or lock it, and the link to copy."""
    with st.expander(t("links.share")):
        st.caption(t("links.share_caption"))
        hide, lock = [], []
        halves = (settings[:(len(settings) + 1) // 2], settings[(len(settings) + 1) // 2:])
        for column, part in zip(st.columns(2, gap="large"), halves):
            with column:
                head = st.columns([3, 1, 1])
                head[1].markdown(f"**{t('links.hide_column')}**", help=t("links.hide_help"))
                head[2].markdown(f"**{t('links.lock_column')}**", help=t("links.lock_help"))
                for name in part:
                    row = st.columns([3, 1, 1], vertical_alignment="center")
                    row[0].markdown(f"{t(f'train.set.{name}')} (`{name}`)")
                    hidden = row[1].checkbox(t("links.hide_one", name=name), key=f"link_hide_{name}",
                                             label_visibility="collapsed")
                    locked = row[2].checkbox(t("links.lock_one", name=name), key=f"link_lock_{name}",
                                             label_visibility="collapsed", disabled=hidden)
                    hide += [name] if hidden else []
                    lock += [name] if locked and not hidden else []
        base = getattr(st.context, "url", "") or ""
        base = base.split("?")[0] if base else ""
        st.code(link_for(base, hide, lock), language=None)
