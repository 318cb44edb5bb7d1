"""The Trainer, its callbacks, devices and background jobs."""
