"""Layering: pages/ and ui/ never import torch; the engine never imports streamlit; files state their job."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENGINE_FILES = sorted((ROOT / "bigmodel_core").rglob("*.py"))
UI_FILES = sorted([*(ROOT / "pages").glob("*.py"), *(ROOT / "ui").rglob("*.py")])


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def imported_modules(path: Path) -> set[str]:
    """Top-level package of every import in the file, including imports inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_there_are_files_to_check():
    assert len(ENGINE_FILES) > 20
    assert UI_FILES, "pages/ and ui/ hold the app's scripts"


@pytest.mark.parametrize("path", UI_FILES, ids=rel)
def test_pages_and_ui_never_import_torch(path):
    assert "torch" not in imported_modules(path), f"{rel(path)} imports torch; ask the engine instead"
    text = path.read_text(encoding="utf-8")
    assert "__import__(\"torch\")" not in text and "import_module(\"torch\")" not in text


@pytest.mark.parametrize("path", ENGINE_FILES, ids=rel)
def test_engine_never_imports_streamlit(path):
    assert "streamlit" not in imported_modules(path), f"{rel(path)} imports streamlit"


@pytest.mark.parametrize("path", ENGINE_FILES, ids=rel)
def test_every_engine_file_starts_with_a_docstring(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    doc = ast.get_docstring(tree)
    assert doc and doc.strip(), f"{rel(path)} does not start with a docstring saying what it is for"
    first = tree.body[0]
    assert isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)


def test_importing_the_whole_engine_loads_no_streamlit():
    code = (
        "import importlib, pkgutil, sys\n"
        "import bigmodel_core\n"
        "for m in pkgutil.walk_packages(bigmodel_core.__path__, 'bigmodel_core.'):\n"
        "    if m.name != 'bigmodel_core.__main__':\n"
        "        importlib.import_module(m.name)\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] == 'streamlit'))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


SHARED_MODULES = {"config", "errors", "settings", "course"}  # the vocabulary every layer shares; the course maths
DOMAINS = {"data", "models", "explain", "embeddings", "runs", "serve", "training", "optimize"}


def engine_imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module after 'bigmodel_core.', imported names) of every `from bigmodel_core... import` in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("bigmodel_core"):
            out.append((node.module.removeprefix("bigmodel_core").lstrip("."), [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("bigmodel_core."):
                    out.append((alias.name.removeprefix("bigmodel_core."), []))
    return out


@pytest.mark.parametrize("path", [*UI_FILES, ROOT / "app.py"], ids=rel)
def test_pages_and_ui_use_only_each_domains_public_names(path):
    import importlib

    for module, names in engine_imports(path):
        if module in SHARED_MODULES:
            continue
        assert module in DOMAINS, f"{rel(path)} imports bigmodel_core.{module}: import from its domain package instead"
        public = importlib.import_module(f"bigmodel_core.{module}").__all__
        for name in names:
            assert name in public, f"{rel(path)} imports {name} from bigmodel_core.{module}, which does not offer it"


@pytest.mark.parametrize("domain", sorted(DOMAINS))
def test_every_public_name_of_a_domain_resolves(domain):
    import importlib

    package = importlib.import_module(f"bigmodel_core.{domain}")
    for name in package.__all__:
        assert getattr(package, name) is not None, f"bigmodel_core.{domain}.{name}"
