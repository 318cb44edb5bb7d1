"""Saved runs: the run store (an SQLite index over the run folders), their records, comparing and sharing them."""
from .._lazy import exports

__all__, __getattr__ = exports(__name__, {
    "home_dir": ".store", "scan_runs": ".store", "list_runs": ".store", "read_misclassified_images": ".store",
    "read_run": ".store", "run_epochs": ".store", "delete_run": ".store", "update_run": ".store",
    "reindex": ".store", "read_history": ".store", "RunInfo": ".info",
    "export_zip": ".archive", "import_zip": ".archive", "export_tensorboard": ".archive",
    "table_rows": ".compare", "filter_runs": ".compare", "settings_diff": ".compare", "best_badges": ".compare",
    "overlay": ".compare", "metrics_in": ".compare", "CURVE_METRICS": ".compare", "X_AXES": ".compare",
    "MAX_COMPARED": ".compare", "small_vs_big": ".compare", "predict_latency_ms": ".compare",
})
