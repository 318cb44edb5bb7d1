"""Pretrained models in Hugging Face format: local folders are checked, Hub downloads (against a local server) too."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from bigmodel_core.errors import DownloadError, ModelError
from bigmodel_core.models.hub import check_pretrained_folder, download_pretrained, hub_files


def hf_folder(folder: Path, config: dict | None = None, weights: bool = True, pickled: bool = False) -> Path:
    """A small folder shaped like a Hugging Face BERT: config.json, model.safetensors, vocab.txt."""
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    cfg = {"model_type": "bert", "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
           "vocab_size": 30, **(config or {})}
    (folder / "config.json").write_text(json.dumps(cfg))
    (folder / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "good", "bad"]) + "\n")
    if weights:
        save_file({"embeddings.word_embeddings.weight": torch.zeros(30, 32)}, str(folder / "model.safetensors"))
    if pickled:
        (folder / "pytorch_model.bin").write_bytes(b"\x80\x04pickled")
    return folder


def serve_model(root: Path, model_id: str, **kwargs) -> Path:
    """Lay a model out the way the Hub serves it: /api/models/<id> (its file list) and /<id>/resolve/main/<file>."""
    files = hf_folder(root / model_id / "resolve" / "main", **kwargs)
    siblings = []
    for path in sorted(files.iterdir()):
        entry = {"rfilename": path.name, "size": path.stat().st_size}
        if path.suffix in (".safetensors", ".bin"):
            entry["lfs"] = {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "size": path.stat().st_size}
        siblings.append(entry)
    siblings.append({"rfilename": "README.md", "size": 10})  # not a file the app needs: never downloaded
    api = root / "api" / "models" / model_id
    api.parent.mkdir(parents=True, exist_ok=True)
    config = json.loads((files / "config.json").read_text())
    api.write_text(json.dumps({"id": model_id, "siblings": siblings, "config": config}))
    return files


def test_a_local_folder_is_described(tmp_path):
    info = check_pretrained_folder(hf_folder(tmp_path / "tiny-bert"))
    assert (info["model_type"], info["hidden_size"], info["layers"], info["heads"]) == ("bert", 32, 2, 2)
    assert info["weights_bytes"] > 30 * 32 * 4


@pytest.mark.parametrize("make, says", [
    (lambda p: hf_folder(p, weights=False, pickled=True), "pickle format"),
    (lambda p: hf_folder(p, weights=False), "no model.safetensors"),
    (lambda p: hf_folder(p, config={"auto_map": {"AutoModel": "modeling_evil.EvilModel"}}), "code of its own"),
    (lambda p: (hf_folder(p), (p / "vocab.txt").unlink()), "no tokenizer files"),
    (lambda p: (hf_folder(p), (p / "config.json").write_text("{oops")), "not readable JSON"),
    (lambda p: (hf_folder(p), (p / "config.json").unlink()), "no config.json"),
])
def test_a_folder_that_is_not_a_safe_model_is_refused_plainly(tmp_path, make, says):
    make(tmp_path / "m")
    with pytest.raises(ModelError) as err:
        check_pretrained_folder(tmp_path / "m")
    assert says in err.value.message and err.value.hint


def test_a_hub_model_downloads_once_with_its_size_known_first_and_progress(server, isolated_home):
    base, root, stop = server
    serve_model(root, "org/tiny-bert")
    files = hub_files("org/tiny-bert", base_url=base)
    assert sorted(f["name"] for f in files) == ["config.json", "model.safetensors", "vocab.txt"]  # no README
    total = sum(f["size"] for f in files)
    seen = []
    info = download_pretrained("org/tiny-bert", home=isolated_home, base_url=base,
                               progress=lambda done, of: seen.append((done, of)))
    folder = isolated_home / "cache" / "hub" / "org--tiny-bert"
    assert info["path"] == str(folder) and info["model_type"] == "bert"
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors", "vocab.txt"]
    assert seen and seen[-1] == (total, total) and all(a <= b for (a, _), (b, _) in zip(seen, seen[1:]))
    stop()  # offline now: the cached copy is used, nothing is fetched
    assert download_pretrained("org/tiny-bert", home=isolated_home, base_url=base)["path"] == str(folder)


@pytest.mark.parametrize("kwargs, says", [
    ({"weights": False, "pickled": True}, "pickle format"),
    ({"config": {"auto_map": {"AutoModel": "modeling_evil.EvilModel"}}}, "code of its own"),
])
def test_a_hub_model_with_pickled_weights_or_its_own_code_is_refused_before_any_download(server, isolated_home,
                                                                                          kwargs, says):
    base, root, _ = server
    serve_model(root, "org/unsafe", **kwargs)
    with pytest.raises(ModelError) as err:
        download_pretrained("org/unsafe", home=isolated_home, base_url=base)
    assert says in err.value.message
    assert not (isolated_home / "cache" / "hub").exists() or not any((isolated_home / "cache" / "hub").iterdir())


def test_offline_unknown_and_malformed_model_ids_are_plain_errors(server, isolated_home):
    base, root, stop = server
    with pytest.raises(ModelError, match="no public model called 'org/missing'"):
        hub_files("org/missing", base_url=base)
    with pytest.raises(ModelError, match="not a Hugging Face model id"):
        hub_files("../../etc/passwd", base_url=base)
    stop()
    with pytest.raises(DownloadError) as err:
        hub_files("org/tiny-bert", base_url=base)
    assert "offline" in err.value.message and "folder of a model already on this computer" in err.value.hint


def test_a_download_whose_weights_do_not_match_the_hubs_checksum_is_not_kept(server, isolated_home):
    base, root, _ = server
    files = serve_model(root, "org/tampered")
    (files / "model.safetensors").write_bytes((files / "model.safetensors").read_bytes()[:-4] + b"evil")
    with pytest.raises(DownloadError, match="did not match its checksum"):
        download_pretrained("org/tampered", home=isolated_home, base_url=base)
    assert not any((isolated_home / "cache" / "hub").iterdir())
