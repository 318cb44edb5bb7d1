"""Explanations of predictions (LIME and friends)."""
