"""Words re-drawn with a background coloured by their weight (green toward the class, red against)."""
from __future__ import annotations

import html
from typing import Sequence


def _colour(weight: float, scale: float, signed: bool = True) -> str:
    strength = min(abs(weight) / scale, 1.0) if scale > 0 else 0.0
    rgb = ("22,163,74" if weight > 0 else "220,38,38") if signed else "37,99,235"
    return f"rgba({rgb},{0.12 + 0.78 * strength:.2f})" if strength > 0.01 else "transparent"


def highlight_html(tokens: Sequence[str], weights: Sequence[float], known: Sequence[bool] = (),
                   signed: bool = True) -> str:
    """HTML of the sentence with each word's background showing its weight; unknown words dotted.

    Signed weights are green (toward the class) or red (against); unsigned ones (attention) blue.
    """
    scale = max((abs(w) for w in weights), default=0.0)
    spans = []
    for i, (tok, w) in enumerate(zip(tokens, weights)):
        unknown = bool(known) and not known[i]
        style = f"background:{_colour(w, scale, signed)};padding:2px 4px;margin:2px;border-radius:4px;display:inline-block"
        if unknown:
            style += ";border-bottom:2px dotted #888"
        title = f"weight {w:+.3f}" + (" · not in the vocabulary" if unknown else "")
        spans.append(f'<span class="bm-word" data-weight="{w:.4f}" title="{html.escape(title)}" style="{style}">'
                     f"{html.escape(tok)}</span>")
    return f'<div class="bm-highlight" style="font-size:1.25rem;line-height:2.2">{" ".join(spans)}</div>'


def legend_html(class_name: str) -> str:
    return ('<div style="font-size:0.9rem;margin-top:4px">'
            f'<span style="background:rgba(22,163,74,0.8);padding:1px 8px;border-radius:4px">&nbsp;</span> pushes toward '
            f'<b>{html.escape(class_name)}</b> &nbsp; '
            f'<span style="background:rgba(220,38,38,0.8);padding:1px 8px;border-radius:4px">&nbsp;</span> pushes away from it'
            ' &nbsp; (stronger colour = stronger effect; dotted underline = word the model never saw)</div>')


def attention_legend_html() -> str:
    return ('<div style="font-size:0.9rem;margin-top:4px">'
            '<span style="background:rgba(37,99,235,0.8);padding:1px 8px;border-radius:4px">&nbsp;</span> '
            'more of the model\'s attention reaches this word (it has no direction: toward or against)</div>')
