"""The Trainer, its callbacks, devices, background jobs and scaling sweeps."""
from .._lazy import exports

__all__, __getattr__ = exports(__name__, {
    "JobManager": ".jobs", "demo_config": ".jobs", "list_devices": ".devices", "train_run": ".run", "epoch_rows": ".events",
    "plan_sweep": ".sweep", "sweep_points": ".sweep", "fit_power_law": ".sweep", "list_sweeps": ".sweep",
    "axes_for": ".sweep", "SIZES": ".sweep", "AXES": ".sweep", "DATA_FRACTIONS": ".sweep",
    "max_processes": ".distributed", "precision_problem": ".devices", "compile_problem": ".devices", "MIN_POINTS": ".sweep", "MAX_POINTS": ".sweep", "X_AXES": ".sweep", "describe_fit": ".sweep", "sweep_started": ".sweep",
    "run_findings": ".diagnose", "is_urgent": ".diagnose", "layer_norms": ".diagnose", "epoch_table": ".diagnose",
})
