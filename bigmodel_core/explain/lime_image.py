"""LIME for images: which regions of a picture pushed the prediction, via the `lime` package.

LIME hides random sets of regions ("superpixels"), asks the model again, and fits a weighted
linear model: a region's weight says how much showing it raised the explained class.

Superpixels: lime's default (quickshift) and SLIC look for regions of similar colour, which
means nothing on an 8x8 digit (a stroke is one or two pixels wide). So images smaller than
16 pixels get a regular grid (2x2 cells on 8x8: 16 regions), and larger ones SLIC, which at
28x28 cuts strokes and background into about 50 compact pieces that follow the strokes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence, Union

import numpy as np

from ..errors import InputError, msg

GRID_BELOW = 16  # image side below which superpixels are a regular grid
GRID_SEGMENTS = 16  # default regions on a small image (2x2 cells on 8x8)
SLIC_SEGMENTS = 50  # default regions asked of SLIC on larger images
SLIC_COMPACTNESS_GREY = 0.2  # on 0..1 grey levels: regions follow strokes yet stay compact
SLIC_COMPACTNESS_COLOUR = 10.0  # skimage's default, for colour images (SLIC works in Lab, 0..100)


@dataclass
class ImageExplanation:
    """A heat map over the image for one class; drawing it is the UI's job (lime-style data/view split).

    LIME fills `segments` and `weights`; gradient methods leave them empty and give a heat map
    per pixel. `heatmap` is in [-1, 1] when `signed` (red helps, blue hurts) else in [0, 1].
    """

    image: np.ndarray  # (S, S, C) uint8, exactly what the model was shown
    class_names: list[str]
    probabilities: list[float]  # the model's prediction for the whole image
    label: int  # the explained class
    heatmap: np.ndarray  # (S, S) float32; LIME: each pixel carries its region's weight
    method: str = "lime"  # "lime" | "saliency" | "ig" | "gradxinput"
    segments: Optional[np.ndarray] = None  # (S, S) int region ids 0..n-1 (LIME only)
    weights: list[float] = field(default_factory=list)  # LIME: weight per region, for `label`
    class_weights: dict[int, list[float]] = field(default_factory=dict)  # LIME: every class
    score: float = 0.0  # LIME: R^2 of the local linear model (how well it mimics the network)
    scale: float = 1.0  # gradients: the raw attribution that maps to 1.0 in the heat map
    signed: bool = True

    def top_segments(self, k: int = 3, positive_only: bool = True) -> list[tuple[int, float]]:
        """The k regions with the largest weight (or |weight|), strongest first: (region, weight)."""
        w = np.asarray(self.weights, dtype=np.float64)
        order = np.argsort(-(w if positive_only else np.abs(w)), kind="stable")
        return [(int(i), float(w[i])) for i in order[:k] if not positive_only or w[i] > 0]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: class names instead of indices, arrays as nested lists."""
        return {"method": self.method, "label": self.class_names[self.label],
                "probabilities": dict(zip(self.class_names, map(float, self.probabilities))),
                "heatmap": np.round(self.heatmap, 4).tolist(), "signed": self.signed, "scale": self.scale,
                "segments": None if self.segments is None else self.segments.tolist(),
                "weights": [float(w) for w in self.weights], "score": self.score}


def check_image(predictor, image: np.ndarray) -> np.ndarray:
    """The image as uint8 (S, S, C) at the predictor's size, or a plain InputError."""
    size, ch = predictor.preprocess.size, predictor.preprocess.channels
    arr = np.asarray(image)
    if arr.ndim == 2 and ch == 1:
        arr = arr[:, :, None]
    if arr.shape != (size, size, ch):
        raise InputError(msg("errors.explain.image_shape", "The image is {shape}, but this model reads {size}x{size}x{ch}.",
                             shape="x".join(map(str, arr.shape)), size=size, ch=ch),
                         msg("errors.explain.image_shape.hint",
                             "Prepare it with prepare_drawing or prepare_upload first (the app does this for you)."))
    return arr if arr.dtype == np.uint8 else np.clip(np.round(arr), 0, 255).astype(np.uint8)


def class_index(label: Union[str, int, None], class_names: Sequence[str]) -> Optional[int]:
    """A class name or number -> its index (None stays None); a plain error for a class the model lacks.

    The one check of a chosen class for every explainer (LIME, gradients, attention; text and images).
    """
    if label is None:
        return None
    if isinstance(label, str):
        if label not in class_names:
            raise InputError(msg("errors.explain.unknown_class", "'{label}' is not one of this model's classes.",
                                 label=label),
                             msg("errors.explain.choose_one", "Choose one of: {names}.", names=", ".join(class_names)))
        return list(class_names).index(label)
    if not 0 <= int(label) < len(class_names):
        raise InputError(msg("errors.explain.class_number", "There is no class number {label}.", label=label),
                         msg("errors.explain.class_number.hint", "Choose a number from 0 to {last}.",
                             last=len(class_names) - 1))
    return int(label)


def resolve_label(label: Union[str, int, None], class_names: Sequence[str], probabilities: np.ndarray) -> int:
    """A class name or index -> index; None -> the predicted class."""
    index = class_index(label, class_names)
    return int(np.argmax(probabilities)) if index is None else index


def segment_image(image: np.ndarray, num_segments: Optional[int] = None, method: str = "auto") -> np.ndarray:
    """Superpixels of a (S, S, C) uint8 image -> (S, S) int ids 0..n-1.

    Args:
        method: "grid" (regular cells), "slic" (skimage SLIC) or "auto" (grid below 16 px).
    """
    s = image.shape[0]
    if method == "auto":
        method = "grid" if s < GRID_BELOW else "slic"
    if method == "grid":
        n = num_segments or GRID_SEGMENTS
        cell = max(1, int(round(s / np.sqrt(n))))
        idx = np.arange(s) // cell  # (S,)
        cols = int(idx[-1]) + 1
        return (idx[:, None] * cols + idx[None, :]).astype(np.int64)
    if method == "slic":
        from skimage.segmentation import slic

        x = image.astype(np.float32) / 255.0
        x = x[:, :, 0] if x.shape[2] == 1 else x
        grey = x.ndim == 2
        seg = slic(x, n_segments=num_segments or SLIC_SEGMENTS, start_label=0, enforce_connectivity=True,
                   compactness=SLIC_COMPACTNESS_GREY if grey else SLIC_COMPACTNESS_COLOUR,
                   channel_axis=None if grey else -1)
        return np.unique(seg, return_inverse=True)[1].reshape(seg.shape).astype(np.int64)  # ids 0..n-1
    raise InputError(msg("errors.explain.segmentation", "'{method}' is not a way to cut the image into regions.",
                         method=method),
                     msg("errors.explain.choose_one", "Choose one of: {names}.", names="auto, grid, slic"))


def background_colour(image: np.ndarray) -> tuple[int, ...]:
    """Per-channel median of the image's outer pixels: what 'nothing here' looks like (black for digits)."""
    frame = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])  # (4S, C)
    return tuple(int(v) for v in np.median(frame, axis=0))


def _explainer(seed: int):
    """lime's LimeImageExplainer, with its perturbation loop done as array operations.

    lime builds each perturbed image in a Python loop behind a tqdm progress bar (printed to
    stderr). The subclass draws the same random on/off matrix from the same RandomState and
    builds the same images, in batches, silently; everything else is lime's.
    """
    from lime.lime_image import LimeImageExplainer

    class _BatchedLimeImageExplainer(LimeImageExplainer):
        def data_labels(self, image, fudged_image, segments, classifier_fn, num_samples, batch_size=10):
            n_features = np.unique(segments).shape[0]
            data = self.random_state.randint(0, 2, num_samples * n_features).reshape((num_samples, n_features))
            data[0, :] = 1
            labels = []
            for i in range(0, num_samples, batch_size):
                hidden = data[i:i + batch_size][:, segments] == 0  # (B, S, S)
                imgs = np.where(hidden[..., None], fudged_image[None], image[None])  # (B, S, S, 3)
                labels.append(classifier_fn(imgs))
            return data, np.concatenate(labels)

    # cosine distance, kernel 0.25 and ridge regression are lime's image defaults;
    # feature_selection="none" keeps a weight for every region
    return _BatchedLimeImageExplainer(random_state=seed, feature_selection="none")


def explain_image(predictor, image: np.ndarray, num_samples: int = 1000, seed: int = 0,
                  label: Union[str, int, None] = None, num_segments: Optional[int] = None,
                  segmentation: str = "auto", hide_color: Union[str, int, tuple, None] = "background",
                  batch_size: int = 500) -> ImageExplanation:
    """Explain an ImagePredictor's prediction of one image with LIME.

    Args:
        image: uint8 (S, S, C) at the model's size (see data.drawing).
        label: class name or index to explain (default: the predicted class).
        num_segments: how many regions (default 16 on small images, about 50 on larger ones).
        segmentation: "auto", "grid" or "slic" (see the module docstring).
        hide_color: what a hidden region becomes: "background" (the image's border colour,
            black for digits: 'no ink'), a grey level or RGB tuple, or None for lime's
            per-region mean colour.
    Returns:
        ImageExplanation with per-region weights for every class and a heat map for `label`.
    """
    img = check_image(predictor, image)  # (S, S, C)
    from .lime_text import LIME_SAMPLES

    num_samples = LIME_SAMPLES.check("samples", num_samples)
    channels = img.shape[2]
    rgb = np.repeat(img, 3, axis=2) if channels == 1 else img  # lime works on RGB images

    def classifier_fn(batch: np.ndarray) -> np.ndarray:  # (B, S, S, 3) -> (B, classes)
        x = np.clip(np.round(batch), 0, 255).astype(np.uint8)
        return predictor.predict_proba(x[..., :1] if channels == 1 else x)

    segments = segment_image(img, num_segments, segmentation)  # (S, S)
    n = int(segments.max()) + 1
    hide = background_colour(rgb) if hide_color == "background" else hide_color
    if isinstance(hide, (int, float)):
        hide = (hide,) * 3
    names = list(predictor.class_names)
    probs = predictor.predict_proba([img])[0]
    target = resolve_label(label, names, probs)
    # lime keeps the R^2 of the last class it fits, so the explained class goes last
    order = [k for k in range(len(names)) if k != target] + [target]
    res = _explainer(seed).explain_instance(
        rgb, classifier_fn, labels=order, hide_color=hide, top_labels=None, num_features=n,
        num_samples=num_samples, batch_size=batch_size, segmentation_fn=lambda _: segments, random_seed=seed)
    class_weights = {}
    for k in order:
        w = np.zeros(n)
        for seg, value in res.local_exp[k]:
            w[seg] = value
        class_weights[k] = w.tolist()
    weights = np.asarray(class_weights[target], dtype=np.float32)
    scale = float(np.abs(weights).max()) or 1.0  # the heat map spans [-1, 1]; `scale` keeps the raw size
    return ImageExplanation(img, names, probs.astype(float).tolist(), target, weights[segments] / scale, "lime",
                            segments, weights.tolist(), dict(sorted(class_weights.items())), float(res.score),
                            scale=scale)
