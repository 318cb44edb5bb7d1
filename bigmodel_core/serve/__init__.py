"""Loading saved runs for prediction."""
from .._lazy import exports

__all__, __getattr__ = exports(__name__, {
    "load_bundle": ".bundle",
    "create_app": ".api", "serve": ".server", "start_server": ".server", "server_for": ".server",
    "stop_server": ".server", "free_port": ".server", "export_state": ".deploy", "export_to_onnx": ".deploy",
    "send_request": ".deploy", "png_base64": ".deploy", "client_examples": ".deploy",
})
