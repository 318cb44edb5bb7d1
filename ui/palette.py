"""Colours for highlights and charts: green/red by default, or a colour-blind-safe blue/orange (sidebar switch).

Red and green are the pair most people with colour-vision deficiency (about 1 in 12 men) cannot tell
apart; blue against orange stays distinct for all three common kinds (Okabe & Ito's palette).
"""
from __future__ import annotations

import streamlit as st

PALETTES = {
    "standard": {"pos": "#16a34a", "neg": "#dc2626", "pos_rgb": "22,163,74", "neg_rgb": "220,38,38"},
    "colourblind": {"pos": "#0072b2", "neg": "#e69f00", "pos_rgb": "0,114,178", "neg_rgb": "230,159,0"},
}


def name() -> str:
    try:
        return "colourblind" if st.session_state.get("ui_colourblind") else "standard"
    except Exception:  # noqa: BLE001 - outside a Streamlit session
        return "standard"


def pos() -> str:
    """The colour of 'toward the class' / better / kept."""
    return PALETTES[name()]["pos"]


def neg() -> str:
    """The colour of 'against the class' / worse / removed."""
    return PALETTES[name()]["neg"]


def pos_rgb() -> str:
    return PALETTES[name()]["pos_rgb"]


def neg_rgb() -> str:
    return PALETTES[name()]["neg_rgb"]


def diverging() -> list[list]:
    """A plotly colour scale from against (0) through grey (0.5) to toward (1)."""
    return [[0, neg()], [0.5, "#d1d5db"], [1, pos()]]
