"""Making models small: pruning, int8 quantization and distillation, each a run derived from its parent."""
from .._lazy import exports

__all__, __getattr__ = exports(__name__, {
    "plan": ".derive", "derive_run": ".derive", "measure_run": ".measure", "comparison": ".measure",
    "family": ".measure", "measured": ".measure", "sparsity": ".prune",
})
