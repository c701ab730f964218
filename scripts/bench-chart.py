#!/usr/bin/env python3
"""Draws the chart of docs/benchmarks.md from a bench-compare.py run.

Reads OUT/medians.json (scripts/bench-compare.py --out OUT) and writes an SVG
with two panels against the client count (log2 axis): writes/s and p99
latency (ms), both on log10 axes since the systems differ by orders of
magnitude. raftkv and etcd writes are solid lines; nginx's GET, the machine's
HTTP ceiling, is dashed. Standard library only (no plotting package here).

Usage: scripts/bench-chart.py OUT/medians.json [docs/benchmarks.svg]
"""

import json
import math
import os
import sys
from xml.sax.saxutils import escape

# (system, workload, legend label, colour, dash pattern or marker shape)
SERIES = [("raftkv", "writes", "raftkv writes", "#1f77b4", ""),
          ("etcd", "writes", "etcd 3.4 writes (v3 JSON)", "#d62728", ""),
          ("nginx", "get", "nginx GET (HTTP ceiling)", "#7f7f7f", "6,4")]
# Single points off the sweep, drawn as unfilled markers.
MARKERS = [("raftkv", "writes-via-leader", "raftkv writes, 1 client on the leader", "#1f77b4",
            "circle"),
           ("raftkv", "reads", "raftkv linearizable reads", "#1f77b4", "diamond"),
           ("etcd", "reads", "etcd linearizable reads", "#d62728", "diamond")]

PANEL_W, PANEL_H = 400, 300
MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 70, 20, 40, 50
GAP = 30


def series_points(medians, system, workload, figure):
    points = [(m["clients"], m[figure]) for m in medians
              if m["system"] == system and m["workload"] == workload and m.get(figure, 0) > 0]
    return sorted(points)


def decade_range(values):
    lo = math.floor(math.log10(min(values)))
    hi = math.ceil(math.log10(max(values)))
    return lo, max(hi, lo + 1)


class Panel:
    """One plot area: maps (clients, value) to pixels on log2 x and log10 y axes."""

    def __init__(self, x0, clients, ydecades, title, ylabel):
        self.x0, self.title, self.ylabel = x0, title, ylabel
        self.xlo, self.xhi = math.log2(min(clients)), math.log2(max(clients))
        self.clients = clients
        self.ylo, self.yhi = ydecades

    def px(self, clients):
        span = (self.xhi - self.xlo) or 1
        return self.x0 + MARGIN_L + (math.log2(clients) - self.xlo) / span * PANEL_W

    def py(self, value):
        frac = (math.log10(value) - self.ylo) / (self.yhi - self.ylo)
        return MARGIN_T + PANEL_H * (1 - frac)

    def frame(self):
        left, right = self.px(self.clients[0]), self.px(self.clients[-1])
        out = [f'<rect x="{left}" y="{MARGIN_T}" width="{right - left}" height="{PANEL_H}" '
               'fill="none" stroke="#000"/>']
        for c in self.clients:
            x = self.px(c)
            out.append(f'<line x1="{x}" y1="{MARGIN_T}" x2="{x}" y2="{MARGIN_T + PANEL_H}" '
                       'stroke="#ddd"/>')
            out.append(text(x, MARGIN_T + PANEL_H + 18, str(c), "middle"))
        for decade in range(self.ylo, self.yhi + 1):
            for step in (1, 2, 5):
                value = step * 10 ** decade
                if decade == self.yhi and step > 1:
                    break
                y = self.py(value)
                out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" '
                           f'stroke="{"#bbb" if step == 1 else "#eee"}"/>')
                out.append(text(left - 6, y + 4, number(value), "end"))
        mid = (left + right) / 2
        out.append(text(mid, MARGIN_T + PANEL_H + 38, "clients (connections, log2 scale)",
                        "middle"))
        out.append(text(mid, MARGIN_T - 14, self.title, "middle", 'font-weight="bold"'))
        ly = MARGIN_T + PANEL_H / 2
        out.append(text(self.x0 + 18, ly, self.ylabel, "middle",
                        f'transform="rotate(-90 {self.x0 + 18} {ly})"'))
        return out

    def line(self, points, colour, dash):
        path = " ".join(f"{self.px(c):.1f},{self.py(v):.1f}" for c, v in points)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out = [f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"'
               f'{dash_attr}/>']
        for c, v in points:
            out.append(f'<circle cx="{self.px(c):.1f}" cy="{self.py(v):.1f}" r="3.5" '
                       f'fill="{colour}"><title>{c} clients: {v:.4g}</title></circle>')
        return out


def marker(x, y, colour, shape, tip=""):
    title = f"<title>{escape(tip)}</title>" if tip else ""
    if shape == "diamond":
        pts = f"{x:.1f},{y - 6:.1f} {x + 6:.1f},{y:.1f} {x:.1f},{y + 6:.1f} {x - 6:.1f},{y:.1f}"
        return (f'<polygon points="{pts}" fill="#fff" stroke="{colour}" stroke-width="2">'
                f'{title}</polygon>')
    return (f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="#fff" stroke="{colour}" '
            f'stroke-width="2">{title}</circle>')


def number(value):
    if value >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def text(x, y, body, anchor, extra=""):
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {extra}>'
            f'{escape(body)}</text>')


def legend(x, y, markers):
    out = []
    for i, (_, _, label, colour, dash) in enumerate(SERIES):
        yy = y + i * 18
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<line x1="{x}" y1="{yy}" x2="{x + 28}" y2="{yy}" stroke="{colour}" '
                   f'stroke-width="2"{dash_attr}/>')
        out.append(text(x + 34, yy + 4, label, "start"))
    x2 = x + PANEL_W + MARGIN_R + GAP + MARGIN_L
    for i, (_, _, label, colour, shape) in enumerate(markers):
        yy = y + i * 18
        out.append(marker(x2 + 14, yy, colour, shape))
        out.append(text(x2 + 34, yy + 4, label, "start"))
    return out


def render(data):
    medians = data["medians"]
    clients = sorted({m["clients"] for m in medians})
    width = 2 * (MARGIN_L + PANEL_W + MARGIN_R) + GAP
    height = MARGIN_T + PANEL_H + MARGIN_B + 3 * 18 + 20
    body = []
    for i, (figure, title, ylabel) in enumerate(
            [("ops_per_s", "throughput", "operations/s (log scale)"),
             ("p99_ms", "p99 latency", "p99 ms (log scale)")]):
        lines = [(series_points(medians, s, w, figure), colour, dash)
                 for s, w, _, colour, dash in SERIES]
        dots = [(series_points(medians, s, w, figure), colour, shape, label)
                for s, w, label, colour, shape in MARKERS]
        values = [v for points, *_ in lines + dots for _, v in points]
        panel = Panel(i * (MARGIN_L + PANEL_W + MARGIN_R + GAP), clients,
                      decade_range(values), title, ylabel)
        body += panel.frame()
        for points, colour, dash in lines:
            if points:
                body += panel.line(points, colour, dash)
        for points, colour, shape, label in dots:
            for c, v in points:
                body.append(marker(panel.px(c), panel.py(v), colour, shape,
                                   f"{label}, {c} clients: {v:.4g}"))
    present = [m for m in MARKERS
               if any(x["system"] == m[0] and x["workload"] == m[1] for x in medians)]
    body += legend(MARGIN_L, MARGIN_T + PANEL_H + MARGIN_B + 8, present)
    info = data.get("machine", {})
    caption = (f"3 members each, 100-byte writes, medians; commit {info.get('commit', '?')}, "
               f"{info.get('date_utc', '?')} UTC, {info.get('nproc', '?')} CPUs")
    body.append(text(width - MARGIN_R, height - 8, caption, "end", 'fill="#555"'))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">\n'
            f'<rect width="{width}" height="{height}" fill="#fff"/>\n'
            + "\n".join(body) + "\n</svg>\n")


def main():
    if len(sys.argv) not in (2, 3) or sys.argv[1] in ("-h", "--help"):
        sys.exit(__doc__.strip())
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    target = sys.argv[2] if len(sys.argv) == 3 else os.path.join(root, "docs/benchmarks.svg")
    with open(sys.argv[1]) as f:
        data = json.load(f)
    with open(target, "w") as f:
        f.write(render(data))
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
