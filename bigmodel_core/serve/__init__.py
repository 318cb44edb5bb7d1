"""Loading saved runs for prediction."""
from .._lazy import exports

__all__, __getattr__ = exports(__name__, {
    "load_bundle": ".bundle",
})
