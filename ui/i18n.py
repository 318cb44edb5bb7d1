"""The interface language: English or Simplified Chinese, every visible string from assets/locales/.

    from ui.i18n import t, tr
    st.button(t("train.start"))                  # a string of the app's own
    st.caption(t("train.epochs_left", n=3))      # with {fields}
    st.error(tr(exc.message))                    # an engine sentence (a bigmodel_core.errors.Msg) in this language

Locale files are flat JSON objects of full keys (`"train.start": "Train"`) in assets/locales/en/ and
assets/locales/zh-CN/; a language's files are merged, so each page owns its own file. Engine messages keep
their English template at the raise site (the CLI stays English); their other languages are found by key.
Streamlit has no built-in i18n (streamlit#1353): this is the usual locale-file pattern, kept small.

The language is, in order: the sidebar switch, a teacher link's `lang=`, the browser's (`st.context.locale`).
"""
from __future__ import annotations

import json
import string
from functools import lru_cache
from pathlib import Path
from typing import Any

import streamlit as st

from bigmodel_core.errors import Alternatives, Msg

LOCALES = Path(__file__).resolve().parents[1] / "assets" / "locales"
LANGUAGES = {"en": "English", "zh-CN": "中文"}
DEFAULT = "en"
JOIN_OR = {"en": " or ", "zh-CN": " 或 "}


@lru_cache(maxsize=None)
def catalog(lang: str) -> dict[str, str]:
    """Every key of one language, merged from its files (a key in two files is a bug the tests catch)."""
    merged: dict[str, str] = {}
    folder = LOCALES / lang
    for path in sorted(folder.glob("*.json")):
        merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def normalise(code: str | None) -> str | None:
    """'zh', 'zh-CN', 'zh_Hans', 'zh-TW' -> 'zh-CN'; 'en-GB' -> 'en'; anything else -> None."""
    code = str(code or "").strip().lower().replace("_", "-")
    if code.startswith("zh"):
        return "zh-CN"
    if code.startswith("en"):
        return "en"
    return None


def browser_language() -> str:
    try:
        return normalise(getattr(st.context, "locale", None)) or DEFAULT
    except Exception:  # noqa: BLE001 - no browser (AppTest, a bare script): English
        return DEFAULT


_LAST = [DEFAULT]  # outside a script run (AppTest calls a selectbox's format_func from its own thread)


def lang() -> str:
    """This session's interface language."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx(suppress_warning=True) is None:
        return _LAST[0]
    chosen = st.session_state.get("ui_lang")
    code = chosen if chosen in LANGUAGES else (normalise(st.session_state.get("link_lang")) or browser_language())
    _LAST[0] = code
    return code


def set_lang(code: str) -> None:
    st.session_state["ui_lang"] = normalise(code) or DEFAULT


def _format(template: str, params: dict[str, Any], code: str) -> str:
    values = {}
    for name, value in params.items():
        if isinstance(value, Msg):
            value = tr(value, code)
        elif isinstance(value, Alternatives):
            value = JOIN_OR.get(code, " or ").join(value)
        values[name] = value
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):  # a translation that lost a field: the English is still right
        return string.Formatter().vformat(template, (), _Missing(values))


class _Missing(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def t(key: str, **params: Any) -> str:
    """The app's string `key` in this session's language (English if the key has no translation yet)."""
    code = lang()
    text = catalog(code).get(key)
    if text is None:
        text = catalog(DEFAULT).get(key, key)
        code = DEFAULT
    return _format(text, params, code) if params else text


def tr(text: Any, code: str | None = None) -> str:
    """An engine sentence in this session's language: a Msg by its key, anything else as it is."""
    if not isinstance(text, Msg):
        return "" if text is None else str(text)
    code = code or lang()
    if code == DEFAULT:
        return _format(text.template, text.params, code)
    template = catalog(code).get(text.key)
    return _format(template, text.params, code) if template is not None else str(text)


def language_switch() -> None:
    """The sidebar's language choice; it is kept for the session, on every page."""
    current = lang()
    codes = list(LANGUAGES)
    st.session_state["_lang_pick"] = current  # a widget's own key is dropped between pages: set it each run
    st.sidebar.selectbox("🌐 Language · 语言", codes, format_func=LANGUAGES.get, key="_lang_pick",
                         on_change=lambda: set_lang(st.session_state["_lang_pick"]))
