"""Explanations of predictions: LIME, gradients, attention, and what a CNN sees inside."""
from .._lazy import exports

__all__, __getattr__ = exports(__name__, {
    "explain_text_views": ".views", "explain_image_views": ".views", "has_attention": ".text_attributions",
    "EXPLAINERS": ".inside", "conv_filters": ".inside", "first_conv": ".inside", "feature_maps": ".inside", "layer_flow": ".inside",
})
