"""The explanation views the Predict page shows side by side: LIME, gradients and attention, and how far they agree."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

def explain_text_views(predictor, text: str, num_samples: int = 1000, seed: int = 0,
                       label: Optional[str] = None) -> dict[str, Any]:
    """LIME, Integrated Gradients and (Transformer runs) attention for one text, and how far they agree."""
    from .lime_text import explain_text
    from .text_attributions import (
        attention_text,
        has_attention,
        integrated_gradients_text,
        rank_agreement,
        why_different,
    )

    lime = explain_text(predictor, text, num_samples=num_samples, seed=seed, label=label)
    label = lime.class_names[lime.label]
    ig = integrated_gradients_text(predictor, text, label=label)
    attention = attention_text(predictor, text) if has_attention(predictor) else None
    agreement = rank_agreement(lime.weights[lime.label], ig.weights[ig.label],
                               attention.rollout if attention is not None else None)
    return {"lime": lime, "ig": ig, "attention": attention, "agreement": agreement,
            "why_different": why_different(attention is not None)}


def explain_image_views(predictor, image: np.ndarray, num_samples: int = 1000, seed: int = 0,
                        label: Optional[str] = None) -> dict[str, Any]:
    """LIME superpixels, gradient saliency and Integrated Gradients for one image, side by side."""
    from .gradients import attribute_image
    from .lime_image import explain_image

    return {"lime": explain_image(predictor, image, num_samples=num_samples, seed=seed, label=label),
            "saliency": attribute_image(predictor, image, "saliency", label=label),
            "ig": attribute_image(predictor, image, "ig", label=label)}
