"""Saved runs: the on-disk layout, their records, and the guard rails of the workspace."""
from .._lazy import exports

__all__, __getattr__ = exports(__name__, {
    "home_dir": ".store", "scan_runs": ".store", "list_runs": ".store", "read_misclassified_images": ".store", "RunInfo": ".info",
})
