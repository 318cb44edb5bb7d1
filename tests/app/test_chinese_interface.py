"""Every page, rendered with the interface in Chinese, shows no English sentence from the English locale files;
the browser's language picks the interface's, and the sidebar switch changes it on every page."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from google.protobuf.json_format import MessageToDict
from streamlit.testing.v1 import AppTest

from apphelpers import texts

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGES = ["app.py", "pages/1_Data.py", "pages/2_Model.py", "pages/3_Train.py", "pages/4_Predict.py",
         "pages/5_Inside_the_CNN.py", "pages/6_Embeddings.py", "pages/7_Runs.py", "pages/8_Scaling.py",
         "pages/9_Optimize.py", "pages/10_Deploy.py", "pages/11_Glossary.py"]


def _english_sentences(but: tuple[str, ...] = ()) -> set[str]:
    """The English locale's texts that read as a sentence or phrase (three words or more), fields removed;
    `but` leaves out the keys that start so (the glossary shows every term in both languages by design)."""
    out = set()
    for path in (ROOT / "assets" / "locales" / "en").glob("*.json"):
        for key, text in json.loads(path.read_text(encoding="utf-8")).items():
            if key.startswith(but):
                continue
            for part in re.split(r"\{[^}]*\}", text):
                part = re.sub(r"[*_`#>]", "", part).strip(" .,:;!?()·-–—\n")
                if len(re.findall(r"[A-Za-z]{2,}", part)) >= 3:
                    out.add(part)
    return out


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _shown(at: AppTest) -> str:
    """Every string the page sends to the browser: texts, labels, help, options, captions, chart JSON."""
    found: list[str] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            found.extend(_strings(MessageToDict(proto)))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(s.replace("\\n", "\n") for s in found)


def _open_in_chinese(script: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.session_state["ui_lang"] = "zh-CN"
    at.run()
    if script != "app.py":
        at.switch_page(script).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("script", PAGES)
def test_a_page_in_chinese_shows_no_english_sentence_from_the_locale(script, trained_run):
    trained_run("tiny-lstm")  # pages that list or use runs show their full content
    at = _open_in_chinese(script)
    shown = _shown(at)
    assert re.search(r"[\u4e00-\u9fff]", shown), "the page shows Chinese"
    if script.endswith("Glossary.py"):  # it shows every term in English and Chinese by design
        english = json.loads((ROOT / "assets" / "locales" / "en" / "glossary.json").read_text(encoding="utf-8"))
        for text in sorted(english.values(), key=len, reverse=True):
            shown = shown.replace(text, "")
    leaked = sorted(s for s in _english_sentences(but=("glossary.",)) if s in shown)
    assert not leaked, f"{script} shows English: {leaked[:10]}"


def test_the_browsers_language_picks_chinese_and_the_sidebar_switch_changes_it_on_every_page(monkeypatch):
    from ui import i18n

    monkeypatch.setattr(i18n, "browser_language", lambda: "zh-CN")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert "学习路线" in texts(at.subheader)
    at.sidebar.selectbox(key="_lang_pick").select("en").run()
    assert "The guided path" in texts(at.subheader)
    at.switch_page("pages/1_Data.py").run()
    assert texts(at.title) == ["📚 Data"]
    assert at.sidebar.selectbox(key="_lang_pick").value == "en"


def test_a_teacher_link_can_set_the_language():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["lang"] = "zh"
    at.run()
    assert "学习路线" in texts(at.subheader)


def test_a_link_asking_for_a_language_the_app_lacks_says_so_plainly():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["lang"] = "fr"
    at.run()
    assert not at.exception
    assert any("the language 'fr'" in e for e in texts(at.error))
