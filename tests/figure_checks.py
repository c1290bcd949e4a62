"""What makes a figure unreadable, measured with matplotlib's own renderer: texts whose drawn boxes overlap
(not only texts clipped at the figure's edge)."""

from __future__ import annotations

from typing import List, Tuple


def drawn_texts(fig) -> list:
    """The text artists matplotlib really draws (not, e.g., the labels of ticks outside the view), after layout."""
    from matplotlib.text import Text

    drawn = []
    original = Text.draw

    def recording_draw(self, renderer):
        if self.get_visible() and self.get_text().strip():
            drawn.append(self)
        return original(self, renderer)

    Text.draw = recording_draw
    try:
        fig.canvas.draw()
    finally:
        Text.draw = original
    return list(dict.fromkeys(drawn))


def overlapping_texts(fig, min_px: float = 0.5) -> List[Tuple[str, str]]:
    """Every pair of drawn texts whose window extents overlap by more than `min_px` in both directions."""
    renderer = fig.canvas.get_renderer()
    boxes = [(text.get_text(), text.get_window_extent(renderer)) for text in drawn_texts(fig)]
    pairs = []
    for i, (a_text, a) in enumerate(boxes):
        for b_text, b in boxes[i + 1:]:
            if min(a.x1, b.x1) - max(a.x0, b.x0) > min_px and min(a.y1, b.y1) - max(a.y0, b.y0) > min_px:
                pairs.append((a_text, b_text))
    return pairs
