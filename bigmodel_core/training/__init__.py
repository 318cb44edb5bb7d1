"""The Trainer, its callbacks, devices and background jobs."""
from .._lazy import exports

__all__, __getattr__ = exports(__name__, {
    "JobManager": ".jobs", "demo_config": ".jobs", "list_devices": ".devices", "train_run": ".run", "epoch_rows": ".events",
})
