"""Colour-blind colours: with the sidebar switch on, the Predict page's LIME and gradient word highlights (and
their legend) are blue/orange, never the green/red that about 1 in 12 men cannot tell apart."""
from __future__ import annotations

import re

from apphelpers import texts

from ui.palette import PALETTES

RGBA = re.compile(r"rgba\((\d+,\d+,\d+),")
STANDARD = {PALETTES["standard"]["pos_rgb"], PALETTES["standard"]["neg_rgb"]}  # green, red
COLOURBLIND = {PALETTES["colourblind"]["pos_rgb"], PALETTES["colourblind"]["neg_rgb"]}  # blue, orange


def _highlight_colours(at) -> dict[str, set[str]]:
    """The rgb colours of each signed highlight (LIME, Integrated gradients) and of the legend."""
    out: dict[str, set[str]] = {}
    for html in texts(at.markdown):
        if 'class="bm-highlight"' in html:
            out["lime"] = set(RGBA.findall(html))
        elif 'class="bm-highlight bm-ig"' in html:
            out["ig"] = set(RGBA.findall(html))
        elif "pushes toward" in html:
            out["legend"] = set(RGBA.findall(html))
    return out


def test_the_highlights_are_green_and_red_by_default(open_page, trained_run):
    trained_run("tiny-lstm")
    at = open_page("predict")
    colours = _highlight_colours(at)
    assert set(colours) == {"lime", "ig", "legend"}
    assert colours["legend"] == STANDARD
    for method in ("lime", "ig"):
        assert colours[method] and colours[method] <= STANDARD, (method, colours[method])


def test_colour_blind_colours_make_the_lime_and_gradient_highlights_blue_and_orange(open_page, trained_run):
    trained_run("tiny-lstm")
    at = open_page("predict", ui_colourblind=True)
    assert not at.exception
    colours = _highlight_colours(at)
    assert set(colours) == {"lime", "ig", "legend"}
    assert colours["legend"] == COLOURBLIND  # 0,114,178 (blue: toward) and 230,159,0 (orange: against)
    for method in ("lime", "ig"):
        assert colours[method] and colours[method] <= COLOURBLIND, (method, colours[method])
        assert not colours[method] & STANDARD


def test_the_sidebar_switch_changes_the_colours_at_once(open_page, trained_run):
    trained_run("tiny-lstm")
    at = open_page("predict")
    assert _highlight_colours(at)["lime"] <= STANDARD
    at.sidebar.toggle(key="_ui_colourblind_pick").set_value(True).run()
    assert not at.exception
    colours = _highlight_colours(at)
    assert colours["lime"] and colours["lime"] <= COLOURBLIND
    assert colours["ig"] and colours["ig"] <= COLOURBLIND
    assert at.session_state["ui_colourblind"] is True  # kept for the other pages too
