"""The REST server's request and response bodies (Pydantic), with the limits a request must keep to.

The request models are built per app by `predict_request`, because the batch limit is a setting of
the server; the constraints (most items, longest text) then show in the OpenAPI schema, where
clients and the schemathesis tests read them.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

MAX_TEXT_CHARS = 10_000  # one review or a page of text; longer inputs are truncated by no model here anyway
MAX_EXPLAIN_CHARS = 2_000  # LIME's cost grows with the words of the text: a paragraph, not a book
MAX_LIME_SAMPLES = 5_000  # about a second on a small CPU for a short sentence
Backend = Literal["onnxruntime", "pytorch"]


def _unicode(text: str) -> str:
    """Refuse lone surrogates (JSON can escape them): no tokenizer or JSON answer can take them."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("it holds characters that are not valid Unicode") from None
    return text


class ErrorBody(BaseModel):
    """Every error the server gives: one plain sentence of what happened, one of what to do."""

    error: str = Field(description="What went wrong, in one plain sentence.")
    hint: str = Field("", description="What to do about it.")


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    run: str
    task: str
    backend: Backend


class Inputs(BaseModel):
    field: Literal["texts", "images"] = Field(description="The field of POST /predict this model reads.")
    description: str
    image_size: Optional[int] = Field(None, description="Side in pixels of the pictures the model reads (image runs).")
    channels: Optional[int] = Field(None, description="1 for grey, 3 for colour (image runs).")


class Limits(BaseModel):
    max_batch: int = Field(description="Most texts or pictures in one POST /predict.")
    max_body_bytes: int = Field(description="Largest request body; a larger one gets 413.")
    max_text_chars: int
    max_explain_chars: int
    max_lime_samples: int


class ModelInfo(BaseModel):
    run: str
    name: str
    model: str
    task: str
    classes: list[str]
    parameters: Optional[int] = Field(None, description="Number of weights in the model.")
    settings: dict[str, Any] = Field(default_factory=dict, description="The model's settings (hidden size, ...).")
    metrics: dict[str, Any] = Field(default_factory=dict, description="Accuracy and the like, from training.")
    created: str
    backend: Backend
    explain: bool = Field(description="True when POST /explain works for this model (text runs).")
    inputs: Inputs
    limits: Limits


class Prediction(BaseModel):
    label: str = Field(description="The most likely class.")
    probabilities: dict[str, float] = Field(description="Probability of every class; they sum to 1.")
    warning: Optional[str] = Field(None, description="Set when the prediction says little (every word unknown).")


class PredictResponse(BaseModel):
    predictions: list[Prediction]
    backend: Backend
    ms: float = Field(description="Milliseconds the model took for the whole batch.")


class Weight(BaseModel):
    token: str
    weight: float


class ExplainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, StringConstraints(max_length=MAX_EXPLAIN_CHARS), AfterValidator(_unicode)] = Field(
        description="The sentence to explain.", examples=["not good at all, a boring film"])
    samples: int = Field(1000, ge=10, le=MAX_LIME_SAMPLES, description="LIME's perturbed copies of the text.")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="The same seed gives the same explanation.")
    label: Optional[Annotated[str, StringConstraints(max_length=200)]] = Field(
        None, description="The class to explain (default: the predicted one).")


class ExplainResponse(BaseModel):
    method: Literal["lime"] = "lime"
    label: str = Field(description="The class explained.")
    probabilities: dict[str, float]
    weights: list[Weight] = Field(description="Each word's weight for the explained class: + for it, - against it.")
    score: Optional[float] = Field(None, description="R² of LIME's local model: how well it mimics the network here.")
    samples: int
    seed: int
    backend: Backend
    ms: float


def predict_request(max_batch: int, max_body_bytes: int) -> type[BaseModel]:
    """The POST /predict body for a server taking at most `max_batch` inputs per request."""
    Text = Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS), AfterValidator(_unicode)]
    Image = Annotated[str, StringConstraints(max_length=max_body_bytes)]

    class PredictRequest(BaseModel):
        """Texts for a text model, or base64 PNG/JPEG pictures for an image model (give one of them)."""

        model_config = ConfigDict(extra="forbid", json_schema_extra={
            "examples": [{"texts": ["a gripping, well acted film"]}]})

        texts: Optional[list[Text]] = Field(None, max_length=max_batch, description="Sentences (text runs).")
        images: Optional[list[Image]] = Field(
            None, max_length=max_batch,
            description="Base64 pictures (image runs); a picture of the model's exact size and colours is used as "
                        "it is, any other is prepared like an upload on the Predict page (centred, scaled).")

    return PredictRequest


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of an endpoint: each error status with the ErrorBody shape."""
    said = {400: "The body is not JSON, or not a JSON object.", 401: "The bearer token is missing or wrong.",
            413: "The request body is too large.", 422: "The JSON is well formed but its content cannot be used."}
    return {code: {"model": ErrorBody, "description": said[code]} for code in codes}
