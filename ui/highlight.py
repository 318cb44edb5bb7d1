"""Words re-drawn with a background coloured by their weight (toward the class or against it).

The colours come from ui.palette: green/red, or blue/orange when the sidebar's colour-blind colours are on.
"""
from __future__ import annotations

import html
from typing import Sequence

from ui import palette
from ui.i18n import t

# Attention has no direction; its colour must differ from both 'toward' and 'against' in either palette
ATTENTION_RGB = {"standard": "37,99,235", "colourblind": "204,121,167"}  # blue; Okabe & Ito's reddish purple


def _attention_rgb() -> str:
    return ATTENTION_RGB[palette.name()]


def _colour(weight: float, scale: float, signed: bool = True) -> str:
    strength = min(abs(weight) / scale, 1.0) if scale > 0 else 0.0
    rgb = (palette.pos_rgb() if weight > 0 else palette.neg_rgb()) if signed else _attention_rgb()
    return f"rgba({rgb},{0.12 + 0.78 * strength:.2f})" if strength > 0.01 else "transparent"


def highlight_html(tokens: Sequence[str], weights: Sequence[float], known: Sequence[bool] = (),
                   signed: bool = True) -> str:
    """HTML of the sentence with each word's background showing its weight; unknown words dotted.

    Signed weights are green/blue (toward the class) or red/orange (against); unsigned ones (attention)
    blue/purple. Chinese words (jieba's) are shown side by side like any others.
    """
    scale = max((abs(w) for w in weights), default=0.0)
    spans = []
    for i, (tok, w) in enumerate(zip(tokens, weights)):
        unknown = bool(known) and not known[i]
        style = f"background:{_colour(w, scale, signed)};padding:2px 4px;margin:2px;border-radius:4px;display:inline-block"
        if unknown:
            style += ";border-bottom:2px dotted #888"
        title = t("predict.highlight.weight", weight=f"{w:+.3f}") + (t("predict.highlight.unknown") if unknown else "")
        spans.append(f'<span class="bm-word" data-weight="{w:.4f}" title="{html.escape(title)}" style="{style}">'
                     f"{html.escape(tok)}</span>")
    return f'<div class="bm-highlight" style="font-size:1.25rem;line-height:2.2">{" ".join(spans)}</div>'


def _swatch(rgb: str) -> str:
    return f'<span style="background:rgba({rgb},0.8);padding:1px 8px;border-radius:4px">&nbsp;</span>'


def legend_html(class_name: str) -> str:
    return ('<div style="font-size:0.9rem;margin-top:4px">'
            f'{_swatch(palette.pos_rgb())} '
            + t("predict.highlight.legend_toward", name=f"<b>{html.escape(class_name)}</b>")
            + f' &nbsp; {_swatch(palette.neg_rgb())} ' + t("predict.highlight.legend_against")
            + ' &nbsp; ' + t("predict.highlight.legend_note") + '</div>')


def attention_legend_html() -> str:
    return ('<div style="font-size:0.9rem;margin-top:4px">'
            f'{_swatch(_attention_rgb())} ' + html.escape(t("predict.highlight.attention_legend"), quote=False) + '</div>')
