"""The REST API of one saved run (FastAPI): GET /health and /model, POST /predict and /explain.

Inputs are validated before the model sees them, so every mistake a client can make is a 4xx
JSON `{"error": ..., "hint": ...}` declared in the OpenAPI schema (400 malformed JSON, 401 token,
413 body too large, 422 unusable content). The catch-all 500 handler is only there to log real
bugs; the schemathesis test asserts that no generated request reaches it.
"""

import base64
import binascii
import hmac
import logging
import math
import threading
import time
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
from fastapi import Depends, FastAPI
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..errors import BigModelError, InputError
from ..tasks import task_named
from . import schemas
from .http_errors import ApiError, BodyLimit, install_error_handlers
from .schemas import ExplainRequest, ExplainResponse, Health, ModelInfo, PredictResponse, error_responses

log = logging.getLogger("bigmodel_core.serve")
EXAMPLE = {"text": '{"texts": ["a gripping, well acted film"]}', "image": '{"images": ["<base64 PNG>"]}'}


def load_backend(run: str | Path, home: str | Path | None = None) -> tuple[Any, str]:
    """(predictor, "onnxruntime") when the run has a verified ONNX export, else (PyTorch predictor, "pytorch")."""
    from ..runs.store import resolve_run
    from .bundle import load_bundle

    resolve_run(run, home)  # a missing run is said once, plainly, whichever backend would have served it
    try:
        from .onnx_export import onnx_predictor
    except ImportError:  # ONNX export is optional: PyTorch serves every run
        onnx_predictor = None
    if onnx_predictor is not None:
        try:
            predictor = onnx_predictor(run, home)
        except BigModelError as exc:  # a damaged export: serve the weights it came from instead
            log.warning("Not using the ONNX export of %s: %s", run, exc)
            predictor = None
        if predictor is not None:
            return predictor, "onnxruntime"
    return load_bundle(run, home=home), "pytorch"


class Service:
    """The loaded model behind the endpoints; one lock, since a predictor is not safe in two threads at once."""

    def __init__(self, run: str | Path, home: str | Path | None, max_batch: int, max_body_bytes: int) -> None:
        self.predictor, self.backend = load_backend(run, home)
        self.run, self.home = run, home
        self.task = task_named(self.predictor.task)
        self.field = "texts" if self.task.name == "text" else "images"
        self.max_batch, self.max_body_bytes = max_batch, max_body_bytes
        self.lock = threading.Lock()
        self._explainer = None

    def model_info(self) -> ModelInfo:
        info, p = self.predictor.info, self.predictor
        image = self.task.name == "image"
        return ModelInfo(
            run=p.run_id, name=info.name, model=info.model_name, task=self.task.name, classes=list(p.class_names),
            parameters=info.parameters, settings=info.model_params, metrics=_finite(info.metrics), created=info.created,
            backend=self.backend, explain=not image,
            inputs=schemas.Inputs(
                field=self.field, image_size=p.preprocess.size if image else None,
                channels=p.preprocess.channels if image else None,
                description=("Base64 PNG or JPEG pictures; one of the model's exact size and colours is used as it is, "
                             "any other is centred and scaled like an upload on the Predict page." if image else
                             "Sentences in the language the model was trained on.")),
            limits=schemas.Limits(max_batch=self.max_batch, max_body_bytes=self.max_body_bytes,
                                  max_text_chars=schemas.MAX_TEXT_CHARS, max_explain_chars=schemas.MAX_EXPLAIN_CHARS,
                                  max_lime_samples=schemas.MAX_LIME_SAMPLES))

    def inputs_of(self, body: Any) -> list:
        """The request's inputs of this model's kind; a 422 naming the right field for the wrong kind or none."""
        given, other = getattr(body, self.field), getattr(body, "images" if self.field == "texts" else "texts")
        kind, article, name = self.task.inputs, self.task.article, self.task.name
        if other:
            other_kind = task_named("image" if name == "text" else "text").inputs
            raise ApiError(422, f"The run '{self.predictor.run_id}' is {article} {name} model: it reads {kind}, "
                                f"not {other_kind}.", f"Send {EXAMPLE[name]} instead.")
        if not given:
            raise ApiError(422, f"The request holds no {kind}: the run '{self.predictor.run_id}' is {article} {name} "
                                f"model.", f"Send {EXAMPLE[name]}.")
        return given

    def predict(self, body: Any) -> PredictResponse:
        items = self.inputs_of(body)
        t0 = time.perf_counter()
        with self.lock:
            if self.field == "texts":
                probs, warnings = self._text_probs(items)
            else:
                probs, warnings = self.predictor.predict_proba([self._image(i, b) for i, b in enumerate(items)]), None
        ms = (time.perf_counter() - t0) * 1000
        names = list(self.predictor.class_names)
        return PredictResponse(backend=self.backend, ms=round(ms, 3), predictions=[
            schemas.Prediction(label=names[int(np.argmax(row))], probabilities=_probabilities(names, row),
                               warning=warnings[k] if warnings else None) for k, row in enumerate(probs)])

    def _text_probs(self, texts: Sequence[str]) -> tuple[np.ndarray, Optional[list]]:
        """Probabilities per text (tokenized once), and the all-words-unknown warning per text where known."""
        tokens = [self._tokens(i, len(texts), t) for i, t in enumerate(texts)]
        p = self.predictor
        if tokens and all(t is not None for t in tokens) and hasattr(p, "predict_proba_tokens"):
            probs = p.predict_proba_tokens(tokens)
        else:
            probs = p.predict_proba(list(texts))
        known = getattr(getattr(p, "pipeline", None), "is_known", None)
        if known is None or any(t is None for t in tokens):
            return probs, None
        from .bundle import ALL_UNKNOWN

        return probs, [None if any(known(w) for w in t) else ALL_UNKNOWN for t in tokens]

    def _tokens(self, i: int, n: int, text: str) -> Optional[list[str]]:
        """The text's tokens as the model reads them (None for a predictor that does not say); 422 when none."""
        if not text.strip():
            raise ApiError(422, f"Text {i + 1} is empty." if n > 1 else "The text is empty.",
                           "Send a sentence, for example 'a gripping, well acted film'.")
        tokens = getattr(self.predictor, "tokens", None)
        if tokens is None:
            return None
        try:
            return tokens(text)
        except InputError as exc:
            raise ApiError(422, f"Text {i + 1}: {exc.message}" if n > 1 else exc.message, exc.hint) from None

    def _image(self, i: int, b64: str) -> np.ndarray:
        """One base64 picture -> the model's input (size, size, channels) uint8."""
        from ..data.images.archives import decode_image
        from ..data.images.drawing import prepare_upload
        from ..errors import DataError

        name, pre = f"image {i + 1}", self.predictor.preprocess
        data = _b64decode(b64, name)
        try:
            pic = decode_image(data, name)  # size-checked from the header first: no decompression bombs
            if pic.size == (pre.size, pre.size) and pic.mode == ("L" if pre.channels == 1 else "RGB"):
                return np.asarray(pic, dtype=np.uint8).reshape(pre.size, pre.size, pre.channels)
            return prepare_upload(pic, pre.size, pre.channels)
        except DataError as exc:  # its message names the picture: "The image 'image 1' could not be read..."
            raise ApiError(422, exc.message.replace(f"The image '{name}'", name.capitalize()),
                           "Send a PNG or JPEG picture, base64-encoded.") from None
        except InputError as exc:
            raise ApiError(422, f"{name.capitalize()}: {exc.message}", exc.hint) from None
        except (OSError, ValueError):  # Pillow decodes lazily: a conversion can still meet damaged data
            raise ApiError(422, f"{name.capitalize()} could not be read as a picture.",
                           "Send a PNG or JPEG picture, base64-encoded.") from None

    def explain(self, body: ExplainRequest) -> ExplainResponse:
        from ..explain.lime_text import explain_text

        if self.task.name != "text":
            raise ApiError(422, f"The run '{self.predictor.run_id}' is {self.task.article} {self.task.name} model: "
                                "this server explains text models only.",
                           "Explain pictures on the Predict page of the app (LIME and gradients).")
        self._tokens(0, 1, body.text)
        t0 = time.perf_counter()
        with self.lock:
            exp = explain_text(self._explain_predictor(), body.text, num_samples=body.samples, seed=body.seed,
                               label=body.label).to_dict()
        score = exp["score"]
        return ExplainResponse(label=exp["label"], probabilities=_probabilities(list(exp["probabilities"]),
                                                                               list(exp["probabilities"].values())),
                               weights=[schemas.Weight(**w) for w in exp["weights"]],
                               score=score if score is not None and math.isfinite(score) else None,
                               samples=body.samples, seed=body.seed, backend=self.backend,
                               ms=round((time.perf_counter() - t0) * 1000, 3))

    def _explain_predictor(self):
        """LIME needs the token-level interface; an ONNX backend without it explains with the PyTorch weights."""
        if hasattr(self.predictor, "predict_proba_tokens") and hasattr(self.predictor, "pipeline"):
            return self.predictor
        if self._explainer is None:
            from .bundle import load_bundle

            self._explainer = load_bundle(self.run, home=self.home)
        return self._explainer


def _b64decode(text: str, name: str) -> bytes:
    if text.startswith("data:") and "," in text:  # a data URL, as a browser's FileReader gives
        text = text.split(",", 1)[1]
    try:
        data = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(422, f"{name.capitalize()} is not base64 text.",
                       "Encode the picture's file with base64 (for example `base64 -w0 digit.png`).") from None
    if not data:
        raise ApiError(422, f"{name.capitalize()} is empty.", "Send a PNG or JPEG picture, base64-encoded.")
    return data


def _probabilities(names: Sequence[str], row: Sequence[float]) -> dict[str, float]:
    return {c: float(p) if math.isfinite(float(p)) else 0.0 for c, p in zip(names, row)}


def _finite(metrics: dict[str, Any]) -> dict[str, Any]:
    """Metrics with NaN/infinite figures as null: JSON has no NaN."""
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in metrics.items()}


def create_app(run: str | Path, home: str | Path | None = None, token: Optional[str] = None, max_batch: int = 64,
               max_body_bytes: int = 1_000_000) -> FastAPI:
    """The FastAPI app serving run `run` (onnxruntime when it has a verified export, else PyTorch).

    Args:
        token: when given, /model, /predict and /explain need `Authorization: Bearer TOKEN` (401 otherwise).
        max_batch: most texts or pictures per POST /predict (422 beyond).
        max_body_bytes: largest request body (413 beyond), checked before the body is parsed.
    Raises:
        RunError: the run is missing or damaged (raised here, before any port is opened).
    """
    service = Service(run, home, max_batch, max_body_bytes)
    info = service.predictor.info
    app = FastAPI(title=f"BigModel Lab · {info.name}", version="1",
                  description=f"The {info.model_name} model of the run '{service.predictor.run_id}' "
                              f"({service.task.name}, classes: {', '.join(service.predictor.class_names)}).")
    app.add_middleware(BodyLimit, max_body_bytes=max_body_bytes)
    install_error_handlers(app)
    guard = [Depends(_token_check(token))] if token else []
    Request_ = schemas.predict_request(max_batch, max_body_bytes)

    @app.get("/health", response_model=Health, summary="Is the server up?")
    def health() -> Health:
        return Health(run=service.predictor.run_id, task=service.task.name, backend=service.backend)

    @app.get("/model", response_model=ModelInfo, dependencies=guard, responses=error_responses(401),
             summary="What model this is: classes, metrics, inputs, limits")
    def model() -> ModelInfo:
        return service.model_info()

    @app.post("/predict", response_model=PredictResponse, dependencies=guard,
              responses=error_responses(400, 401, 413, 422), summary="Classify texts or pictures")
    def predict(body: Request_) -> PredictResponse:  # type: ignore[valid-type]  (made per app: why no future import)
        return service.predict(body)

    @app.post("/explain", response_model=ExplainResponse, dependencies=guard,
              responses=error_responses(400, 401, 413, 422), summary="Which words drove the prediction (LIME)")
    def explain(body: ExplainRequest) -> ExplainResponse:
        return service.explain(body)

    app.state.service = service
    return app


def _token_check(token: str):
    """The dependency that refuses a request without `Authorization: Bearer <token>` (401)."""
    bearer = HTTPBearer(auto_error=False, description="The token given when the server was started.")
    wanted = token.encode("utf-8")

    def check(creds: Optional[HTTPAuthorizationCredentials] = Depends(bearer)) -> None:
        challenge = {"WWW-Authenticate": "Bearer"}
        if creds is None:
            raise ApiError(401, "This server needs a token, and the request has none.",
                           "Send the header 'Authorization: Bearer YOUR_TOKEN' (the token the server was started "
                           "with).",
                           challenge)
        if not hmac.compare_digest(creds.credentials.encode("utf-8", "surrogatepass"), wanted):
            raise ApiError(401, "The token is wrong.", "Use the token the server was started with.", challenge)

    return check


