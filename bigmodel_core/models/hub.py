"""Pretrained Transformers in Hugging Face format: check a local folder, or fetch one from the Hub on request.

A pretrained model is a folder with config.json, model.safetensors and its tokenizer files. It is
only ever read as that: weights as safetensors (a repository with pickled `.bin` weights only is
refused), configs and tokenizers as JSON/text, and never a model whose config asks to run code of
its own (`auto_map`, which `trust_remote_code` would execute). Downloads happen only when the user
asks: the files the Hub lists for the model (and only the allowed kinds) go into
BIGMODEL_HOME/cache/hub/<id> through the same checked, atomic downloader as the datasets, with
their total size known before the first byte, a progress callback, and a plain message offline.
The folder is checked before it is renamed into place, so a refused model leaves nothing behind.
"""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Optional

from ..errors import DownloadError, ModelError, msg

HUB_URL = "https://huggingface.co"  # HF_ENDPOINT (the Hugging Face tools' own variable) points at a mirror
# what the Model page offers, with sizes to show before anything is downloaded
SUGGESTED = (
    {"id": "sentence-transformers/all-MiniLM-L6-v2", "title": msg("engine.hub.minilm", "MiniLM-L6 (for CPUs)"),
     "parameters": 22_700_000, "download_mb": 91},
    {"id": "distilbert-base-uncased", "title": msg("engine.hub.distilbert", "DistilBERT (a GPU helps)"),
     "parameters": 66_400_000, "download_mb": 268},
    {"id": "bert-base-uncased", "title": msg("engine.hub.bert_base", "BERT-base (for GPUs)"),
     "parameters": 109_500_000, "download_mb": 440},
)
WEIGHTS = "model.safetensors"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json", "merges.txt",
                   "special_tokens_map.json", "added_tokens.json")
ALLOWED_FILES = ("config.json", WEIGHTS, *TOKENIZER_FILES)
PICKLED = ("pytorch_model.bin", "tf_model.h5", "flax_model.msgpack", "model.ckpt.index")
MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}(/[A-Za-z0-9][A-Za-z0-9._-]{0,95})?")
MAX_DOWNLOAD_BYTES = 2 * 2**30  # BERT-large is 1.3 GB: anything past this is not a classroom model

Progress = Callable[[int, Optional[int]], None]


def _refuse(what: str, why: str, hint: str) -> ModelError:
    """`why` and `hint` are Msgs: the reason (a clause) and what to do."""
    return ModelError(msg("errors.hub.refused", "The pretrained model {what} cannot be used: {why}.",
                          what=what, why=why), hint)


def _needs_own_code(shown: str) -> ModelError:
    return _refuse(shown, msg("errors.hub.why.own_code", "it needs code of its own to run (auto_map), and "
                              "BigModel Lab never runs downloaded code"),
                   msg("errors.hub.own_code.hint", "Choose a model that the transformers library knows by itself "
                       "(BERT, DistilBERT, MiniLM, ...)."))


def _no_safetensors(shown: str, pickled: list[str]) -> ModelError:
    why = (msg("errors.hub.why.pickled", "its weights are only in {file}, a pickle format that can run code when "
               "loaded", file=pickled[0]) if pickled
           else msg("errors.hub.why.no_safetensors", "it has no model.safetensors"))
    return _refuse(shown, why, msg("errors.hub.no_safetensors.hint",
                                   "Use a model that ships model.safetensors (most on the Hugging Face Hub do)."))


def check_pretrained_folder(path: Path | str) -> dict[str, Any]:
    """What a local Hugging Face folder holds ({"path", "model_type", "hidden_size", "layers", "heads",
    "vocab_size", "weights_bytes"}); a ModelError saying what is missing or not allowed otherwise."""
    folder = Path(path)
    shown = f"'{folder}'"
    if not folder.is_dir():
        raise ModelError(msg("errors.hub.no_folder", "There is no folder {folder}.", folder=shown),
                         msg("errors.hub.no_folder.hint", "Give the folder of a Hugging Face model (config.json, "
                             "model.safetensors, tokenizer files)."))
    config = _read_json(folder / "config.json", shown)
    if "auto_map" in config or _read_json(folder / "tokenizer_config.json", shown, required=False).get("auto_map"):
        raise _needs_own_code(shown)
    if not (folder / WEIGHTS).is_file():
        raise _no_safetensors(shown, [n for n in PICKLED if (folder / n).exists()])
    if not any((folder / n).is_file() for n in ("tokenizer.json", "vocab.txt", "vocab.json")):
        raise _refuse(shown, msg("errors.hub.why.no_tokenizer",
                                 "it has no tokenizer files (tokenizer.json or vocab.txt)"),
                      msg("errors.hub.no_tokenizer.hint", "Copy the model's tokenizer files into the same folder."))
    if not isinstance(config.get("model_type"), str):
        raise _refuse(shown, msg("errors.hub.why.no_model_type",
                                 "its config.json does not say what kind of model it is (model_type)"),
                      msg("errors.hub.no_model_type.hint", "Use the config.json that came with the model."))
    get = config.get
    return {"path": str(folder), "model_type": config["model_type"],
            "hidden_size": get("hidden_size", get("dim")), "layers": get("num_hidden_layers", get("n_layers")),
            "heads": get("num_attention_heads", get("n_heads")), "vocab_size": get("vocab_size"),
            "weights_bytes": (folder / WEIGHTS).stat().st_size}


def _read_json(path: Path, shown: str, required: bool = True) -> dict[str, Any]:
    if not path.is_file():
        if not required:
            return {}
        raise _refuse(shown, msg("errors.hub.why.missing_file", "it has no {file}", file=path.name),
                      msg("errors.hub.missing_file.hint", "Give the folder that holds the model's config.json."))
    again = msg("errors.hub.copy_again.hint", "Download or copy the model again.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise _refuse(shown, msg("errors.hub.why.bad_json", "its {file} is not readable JSON", file=path.name),
                      again) from None
    if not isinstance(data, dict):
        raise _refuse(shown, msg("errors.hub.why.not_table", "its {file} is not a table of settings", file=path.name),
                      again)
    return data


def hub_url(base_url: Optional[str] = None) -> str:
    """The Hub to download from: `base_url`, else HF_ENDPOINT, else huggingface.co."""
    import os

    return (base_url or os.environ.get("HF_ENDPOINT") or HUB_URL).rstrip("/")


def check_model_id(model_id: str) -> str:
    if not isinstance(model_id, str) or not MODEL_ID.fullmatch(model_id) or ".." in model_id:
        raise ModelError(msg("errors.hub.bad_id", "'{id}' is not a Hugging Face model id.", id=str(model_id)[:80]),
                         msg("errors.hub.bad_id.hint",
                             "Model ids look like bert-base-uncased or sentence-transformers/all-MiniLM-L6-v2."))
    return model_id


def hub_files(model_id: str, base_url: Optional[str] = None, timeout: float = 20) -> list[dict[str, Any]]:
    """The files of a Hub model that BigModel Lab would download ({"name", "size", "sha256"}), checked first:
    a model without safetensors weights, or one that needs its own code, is refused before any download."""
    check_model_id(model_id)
    url = f"{hub_url(base_url)}/api/models/{model_id}?blobs=true"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"User-Agent": "BigModelLab"}),
                                    timeout=timeout) as response:
            info = json.loads(response.read(8 * 2**20).decode("utf-8"))
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403, 404):
            raise ModelError(msg("errors.hub.no_such_model", "The Hugging Face Hub has no public model called '{id}'.",
                                 id=model_id),
                             msg("errors.hub.no_such_model.hint",
                                 "Check the spelling, or pick one of the suggested models.")) from None
        raise DownloadError(msg("errors.hub.http", "The Hugging Face Hub answered with an error ({code}).",
                                code=exc.code),
                            msg("errors.hub.try_later.hint", "Try again later.")) from None
    except (OSError, ValueError):  # no network, DNS, a timeout, or not JSON
        raise DownloadError(msg("errors.hub.offline",
                                "The Hugging Face Hub cannot be reached: this computer seems to be offline."),
                            msg("errors.hub.offline.hint", "Connect to the internet and try again, or give the "
                                "folder of a model already on this computer.")) from None
    siblings = info.get("siblings") if isinstance(info, dict) else None
    if not isinstance(siblings, list):
        raise DownloadError(msg("errors.hub.bad_answer",
                                "The Hugging Face Hub sent an answer BigModel Lab does not understand."),
                            msg("errors.hub.try_later.hint", "Try again later."))
    names = {s.get("rfilename"): s.get("size") for s in siblings if isinstance(s, dict)}
    digests = {s.get("rfilename"): (s.get("lfs") or {}).get("sha256") for s in siblings
               if isinstance(s, dict) and isinstance(s.get("lfs"), dict)}
    shown = f"'{model_id}'"
    if isinstance(info.get("config"), dict) and info["config"].get("auto_map"):
        raise _needs_own_code(shown)
    if WEIGHTS not in names:
        raise _no_safetensors(shown, [n for n in PICKLED if n in names])
    files = [{"name": n, "size": names[n] if isinstance(names[n], int) else None, "sha256": digests.get(n)}
             for n in ALLOWED_FILES if n in names]
    total = sum(f["size"] or 0 for f in files)
    if total > MAX_DOWNLOAD_BYTES:
        raise _refuse(shown, msg("errors.hub.why.too_big", "it is {gb:.1f} GB, more than this app downloads "
                                 "({max_gb:.0f} GB)", gb=total / 2**30, max_gb=MAX_DOWNLOAD_BYTES / 2**30),
                      msg("errors.hub.too_big.hint", "Choose a smaller model, such as MiniLM-L6."))
    return files


def download_pretrained(model_id: str, home: Path | str | None = None, base_url: Optional[str] = None,
                        progress: Optional[Progress] = None) -> dict[str, Any]:
    """Download a Hub model's allowed files into BIGMODEL_HOME/cache/hub/<id> (once) and check the folder.

    `progress(done_bytes, total_bytes)` covers all files together. Returns check_pretrained_folder's
    summary. A refused or failed download leaves no folder behind.
    """
    from ..data.download import cache_dir, fetch
    from ..runs.workspace import AtomicFolder

    check_model_id(model_id)
    root = cache_dir(Path(home) if home else None) / "hub"
    name = model_id.replace("/", "--")
    if (root / name / WEIGHTS).is_file():  # downloaded before: no network needed
        return check_pretrained_folder(root / name)
    files = hub_files(model_id, base_url)
    root.mkdir(parents=True, exist_ok=True)
    total = sum(f["size"] or 0 for f in files) or None
    done = 0
    folder = AtomicFolder(root, name, "pretrained model")
    try:
        for f in files:
            def step(got: int, _total: Optional[int], before: int = done) -> None:
                if progress is not None:
                    progress(before + got, total)

            url = f"{hub_url(base_url)}/{model_id}/resolve/main/{f['name']}"
            fetch(url, folder.path(f["name"]), f.get("sha256"), size=f["size"], progress=step,
                  name=f"{model_id}/{f['name']}")  # the Hub's own SHA-256 for the big (LFS) files
            done += folder.path(f["name"]).stat().st_size
        for extra in folder.tmp.glob("checksums.json"):
            extra.unlink()
        check_pretrained_folder(folder.tmp)
        path = folder.commit()
    except BaseException:
        folder.discard()
        raise
    return check_pretrained_folder(path)
