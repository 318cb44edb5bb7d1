"""Word maps: a vector set's words projected to 2-D/3-D, coloured by the class each word leans to in the data."""
from __future__ import annotations

from typing import Any

from ..config import DataConfig
from ..data.dataset import load_dataset
from ..data.text.pipeline import TextPipeline

def embedding_map(set_id: str, data_cfg: DataConfig, n: int = 500, dims: int = 3, method: str = "pca",
                  seed: int = 0, extra_words: tuple[str, ...] = ()) -> dict[str, Any]:
    """A 2-D/3-D map of a vector set's most frequent words, each coloured by its class lean in the data.

    `extra_words` (searched or typed words) are placed on the map too when they have a vector,
    even if they are not among the `n` most frequent; the result's "found" lists them as spelt in
    the vocabulary and "not_found" gives each unknown one with close suggestions.
    """
    from .projection import class_lean, project
    from .queries import spelling, suggestions
    from .vectors import load_vectors

    kv = load_vectors(set_id)
    n = max(3, min(n, len(kv.index_to_key)))
    words = list(kv.index_to_key[:n])
    found, not_found = [], []
    for w in dict.fromkeys(x.strip() for x in extra_words if x.strip()):
        spelt = spelling(kv, w)
        if spelt is None:
            not_found.append({"word": w, "suggestions": suggestions(kv, w)})
            continue
        found.append(spelt)
        if kv.key_to_index[spelt] >= n:
            words.append(spelt)
    result = project(kv, words=words, n=n, dims=dims, method=method, seed=seed)
    result.update(found=found, not_found=not_found)
    lean: dict[str, float] = {}
    ds = load_dataset(data_cfg)
    if ds.task == "text":
        lean = class_lean(result["words"], ds, TextPipeline(data_cfg))
        result["lean_classes"] = ds.class_names
    result["lean"] = [float(lean.get(w, 0.0)) for w in result["words"]]
    return result
