"""The interface speaks English and Simplified Chinese completely: no key is missing in either language, every
translation keeps its template's fields, and every engine error a user can meet carries a message key."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from bigmodel_core.errors import template_fields

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "assets" / "locales"
LANGS = ("en", "zh-CN")
ERRORS = {"BigModelError", "DataError", "DownloadError", "ModelError", "ConfigError", "TrainingError",
          "TrainingCancelled", "RunError", "DeviceError", "InputError"}
ENGLISH_ONLY = {"__main__.py"}  # the CLI stays English (cli_*.py too)


def _files(lang: str) -> dict[str, dict[str, str]]:
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted((LOCALES / lang).glob("*.json"))}


def _merged(lang: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for entries in _files(lang).values():
        out.update(entries)
    return out


def _sources(*folders: str) -> list[Path]:
    return [p for folder in folders for p in sorted((ROOT / folder).rglob("*.py"))] + \
        ([ROOT / "app.py"] if "ui" in folders else [])


def _calls(paths: list[Path], name: str) -> list[tuple[Path, ast.Call]]:
    out = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == name:
                out.append((path, node))
    return out


def _engine_messages() -> dict[str, str]:
    """key -> English template of every msg("key", "template", ...) in the engine and the app."""
    found: dict[str, str] = {}
    for path, call in _calls(_sources("bigmodel_core", "ui", "pages"), "msg"):
        if len(call.args) >= 2 and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in call.args[:2]):
            key, template = call.args[0].value, call.args[1].value
            assert found.get(key, template) == template, f"{key} has two English templates ({path.name})"
            found[key] = template
    return found


def test_no_key_is_missing_in_either_language():
    en, zh = _merged("en"), _merged("zh-CN")
    engine = _engine_messages()
    assert not sorted(set(en) - set(zh)), "keys with no Chinese"
    assert not sorted(set(zh) - set(en) - set(engine)), "Chinese keys with no English"
    assert not sorted(set(engine) - set(zh)), "engine messages with no Chinese"
    assert not [k for k, v in {**en, **zh}.items() if not str(v).strip()], "empty texts"


def test_a_key_lives_in_one_file_only():
    for lang in LANGS:
        seen: dict[str, str] = {}
        for name, entries in _files(lang).items():
            for key in entries:
                assert key not in seen, f"{lang}: {key} is in {seen.get(key)} and {name}"
                seen[key] = name


def test_every_translation_keeps_its_fields():
    en, zh = _merged("en"), _merged("zh-CN")
    english = {**_engine_messages(), **en}
    wrong = {k: (template_fields(english[k]), template_fields(v)) for k, v in zh.items()
             if k in english and template_fields(english[k]) != template_fields(v)}
    assert not wrong


def test_every_t_key_the_app_uses_exists():
    en = _merged("en")
    used = {c.args[0].value for _, c in _calls(_sources("ui", "pages"), "t")
            if c.args and isinstance(c.args[0], ast.Constant) and isinstance(c.args[0].value, str)}
    assert used, "the app uses t()"
    assert not sorted(used - set(en))


def test_chinese_texts_are_chinese():
    zh = _merged("zh-CN")
    untranslated = [k for k, v in zh.items() if v == _merged("en").get(k) and any(c.isalpha() for c in v)
                    and len(v.split()) > 2]
    assert not untranslated


def _raises(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            name = getattr(node.exc.func, "id", getattr(node.exc.func, "attr", ""))
            if name in ERRORS:
                yield node


def _is_plain_literal(arg: ast.expr) -> bool:
    return isinstance(arg, (ast.Constant, ast.JoinedStr)) or (isinstance(arg, ast.BinOp) and isinstance(arg.op, ast.Add))


@pytest.mark.parametrize("folder", ["bigmodel_core"])
def test_every_engine_error_carries_a_message_key(folder):
    """A raise with a bare English string could not be shown in Chinese: each passes msg(...) (or a Msg)."""
    bare = []
    for path in _sources(folder):
        if path.name in ENGLISH_ONLY or path.name.startswith("cli_"):
            continue
        for node in _raises(path):
            if any(_is_plain_literal(a) for a in node.exc.args[:2]):
                bare.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not bare


def _bold_marks_markdown_cannot_pair(text: str) -> list[int]:
    """Positions of ** that CommonMark will not take as bold: an opening one followed by punctuation right
    after a letter, or a closing one right after punctuation and followed by a letter (its flanking rules)."""
    import unicodedata

    def punct(c: str) -> bool:
        return unicodedata.category(c).startswith("P")

    def letter(c: str) -> bool:
        return not c.isspace() and not punct(c) and c != "*"

    marks = [i for i in range(len(text) - 1) if text[i:i + 2] == "**" and (i == 0 or text[i - 1] != "*")]
    bad = []
    for n, i in enumerate(marks):
        before, after = (text[i - 1] if i else " "), (text[i + 2] if i + 2 < len(text) else " ")
        if (n % 2 == 0 and punct(after) and letter(before)) or (n % 2 == 1 and punct(before) and letter(after)):
            bad.append(i)
    return bad


def test_bold_marks_finder_knows_the_flanking_rules():
    assert _bold_marks_markdown_cannot_pair("**损失：**后面") == [5]
    assert _bold_marks_markdown_cannot_pair("**损失**：后面") == []
    assert _bold_marks_markdown_cannot_pair("**A** 变化**；积分**在") == [8]
    assert _bold_marks_markdown_cannot_pair("变化；**积分梯度**在") == []


def test_chinese_bold_text_is_bold_and_shows_no_asterisks():
    """`**损失：**后面` shows its asterisks (CommonMark's flanking rules): the punctuation goes outside,
    `**损失**：后面`."""
    wrong = {k: v for k, v in _merged("zh-CN").items() if _bold_marks_markdown_cannot_pair(v)}
    assert not wrong
