"""Gradient attributions for image models (captum): which pixels the prediction is most sensitive to.

- saliency:   |d logit / d pixel|: where a small change would move the score most.
- gradxinput: gradient x input: sensitivity weighted by what is actually there.
- ig:         integrated gradients (Sundararajan et al. 2017): gradients averaged along a
              straight path from a blank image to this one; the pixel scores add up to
              logit(image) - logit(blank), so they share out the prediction.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Union

import numpy as np
import torch

from ..errors import InputError, did_you_mean, msg
from .lime_image import ImageExplanation, check_image, resolve_label

METHODS = {"saliency": "Saliency", "ig": "Integrated gradients", "gradxinput": "Gradient × input"}
BASELINES = {"black": 0, "white": 255}


@contextmanager
def _frozen(model: torch.nn.Module) -> Iterator[None]:
    """Eval mode and no parameter gradients while attributing; both restored afterwards.

    Only the input needs a gradient; switching it off for the weights saves memory and
    leaves no .grad behind on a model that may later be trained or pruned.
    """
    was_training = model.training
    flags = [(p, p.requires_grad) for p in model.parameters()]
    model.eval()
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)
        model.train(was_training)


def attribute_image(predictor, image: np.ndarray, method: str = "saliency", label: Union[str, int, None] = None,
                    baseline: str = "black", steps: int = 32) -> ImageExplanation:
    """Attribute an ImagePredictor's score for one class to the pixels of `image`.

    Args:
        image: uint8 (S, S, C) at the model's size (see data.drawing).
        method: "saliency", "ig" or "gradxinput".
        label: class name or index (default: the predicted class).
        baseline: the 'blank' image integrated gradients starts from: "black" or "white".
        steps: points on the integration path (ig only); more is more exact and slower.
    Returns:
        ImageExplanation with `heatmap` (S, S): saliency sums |attribution| over channels and is
        scaled to [0, 1]; ig and gradxinput sum the signed attributions and are scaled to
        [-1, 1]. `scale` is the raw value that became 1.
    Raises:
        InputError: unknown method or baseline, wrong image size, unknown class.
    """
    if method not in METHODS:
        hint = did_you_mean(method, METHODS)
        if getattr(hint, "key", "") == "errors.did_you_mean":  # a close name: list every choice too
            hint = msg("errors.explain.method.hint", "{close} Valid choices: {names}.", close=hint,
                       names=", ".join(METHODS))
        raise InputError(msg("errors.explain.method", "'{method}' is not an attribution method.", method=method), hint)
    if baseline not in BASELINES:
        raise InputError(msg("errors.explain.baseline", "'{baseline}' is not a baseline image.", baseline=baseline),
                         msg("errors.explain.choose_one", "Choose one of: {names}.", names=", ".join(BASELINES)))
    if int(steps) < 2:
        raise InputError(msg("errors.explain.ig_steps", "Integrated gradients needs at least 2 steps."),
                         msg("errors.explain.ig_steps.hint", "Use {n} steps or more.", n=32))
    img = check_image(predictor, image)  # (S, S, C)
    probs = predictor.predict_proba([img])[0]
    names = list(predictor.class_names)
    target = resolve_label(label, names, probs)
    attr = _attribute(predictor, img, method, target, baseline, int(steps))  # (C, S, S)
    signed = method != "saliency"
    heat = attr.sum(axis=0) if signed else np.abs(attr).sum(axis=0)  # (S, S)
    scale = float(np.abs(heat).max())
    if scale > 0:
        heat = heat / scale
    return ImageExplanation(img, names, probs.astype(float).tolist(), target, heat.astype(np.float32),
                            method, scale=scale, signed=signed)


def _attribute(predictor, img: np.ndarray, method: str, target: int, baseline: str, steps: int) -> np.ndarray:
    """Run the captum method on the model's device; returns the raw attribution (C, S, S)."""
    from captum.attr import InputXGradient, IntegratedGradients, Saliency

    model, device = predictor.model, predictor.device
    x = predictor.to_input([img]).to(device).requires_grad_(True)  # (1, C, S, S) normalised
    with predictor.lock, _frozen(model):
        if method == "saliency":
            attr = Saliency(model).attribute(x, target=target, abs=True)
        elif method == "gradxinput":
            attr = InputXGradient(model).attribute(x, target=target)
        else:
            # The baseline must mean "no information". For digits that is an empty black
            # canvas, which the model sees after normalisation as (0 - mean) / std, not as
            # the tensor 0 (that would be an average-grey picture). So the blank image goes
            # through the same preprocessing as the real one.
            blank = np.full_like(img, BASELINES[baseline])  # (S, S, C) uint8
            base = predictor.preprocess.to_tensor(blank[None]).to(device)  # (1, C, S, S)
            attr = IntegratedGradients(model).attribute(x, base, target=target, n_steps=steps,
                                                        internal_batch_size=steps)
    return attr[0].detach().float().cpu().numpy()
