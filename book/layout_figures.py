"""Drawing weight layouts for the deployment chapters: which block of which array is which gate.

Each array is a bar cut into blocks, one per gate, coloured by the gate
(lstm_ref's i, f, g, o; the same colour whatever a format calls the gate).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle

GATE_COLORS = {"i": "#8ecae6", "f": "#ffb703", "g": "#90be6d", "o": "#f28482",
               "-": "#dddddd"}
GATE_NAMES = {"i": "input gate i", "f": "forget gate f", "g": "candidate g",
              "o": "output gate o"}


def layout_figure(rows, width=9.0):
    """A figure with one bar per row.

    ``rows`` is a list of ``(label, blocks)``, where ``blocks`` is a list of
    ``(gate, text)``: ``gate`` one of ``"i", "f", "g", "o"`` (or ``"-"`` for
    something that is not a gate's) and ``text`` what the format calls that
    block. Every block has the same width.
    """
    longest = max(len(blocks) for _, blocks in rows)
    fig, ax = plt.subplots(figsize=(width, 0.62 * len(rows) + 0.9))
    for r, (label, blocks) in enumerate(rows):
        y = len(rows) - 1 - r
        ax.text(-0.15, y + 0.4, label, ha="right", va="center", fontsize=11)
        for k, (gate, text) in enumerate(blocks):
            ax.add_patch(Rectangle((k, y + 0.05), 1, 0.7, fc=GATE_COLORS[gate], ec="white",
                                   lw=2))
            ax.text(k + 0.5, y + 0.4, text, ha="center", va="center", fontsize=11)
    handles = [Rectangle((0, 0), 1, 1, fc=GATE_COLORS[g]) for g in "ifgo"]
    ax.legend(handles, [GATE_NAMES[g] for g in "ifgo"], loc="upper center",
              bbox_to_anchor=(0.5, 0.0), ncol=4, frameon=False, fontsize=10)
    ax.set_xlim(-0.1, longest + 0.1)
    ax.set_ylim(-0.1, len(rows))
    ax.axis("off")
    fig.tight_layout()
    return fig
