"""report.html: one local execution on one self-contained page (no script, no network).

The DAG with each step's status and duration (drawn from the definition, as
pipelines/graph.py reads it), the parameters, the back-test's metrics against the seasonal
naive and the champion, the interval's coverage, the forecast of a few series with its
interval (and the actuals once they are known), the evaluation's plots (predicted vs actual,
error by series, feature importance), drift by feature, what the registry did, and a link to
every step's log. Plots are PNGs inlined as data URIs.
"""

from __future__ import annotations

import base64
import html
import io
from collections import defaultdict
from pathlib import Path
from typing import Any

from pipelines.graph import Edge, nodes_and_edges

STATUS_COLOURS = {
    "Succeeded": "#cdebd3",
    "Failed": "#f5c6c6",
    "Skipped": "#e4e4e4",
    "NotRun": "#ffffff",
    "NotStarted": "#ffffff",
}
NODE_W, NODE_H, GAP_X, GAP_Y = 200, 46, 24, 46
_CACHE = {True: "hit", False: "miss"}
CSS = """
body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px;
       color: #1d1d1f; max-width: 1180px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; }
table { border-collapse: collapse; margin: 8px 0; } td, th { padding: 3px 10px;
        border-bottom: 1px solid #ddd; text-align: left; } th { background: #f4f4f6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.status-Succeeded { color: #137333; } .status-Failed { color: #b3261e; font-weight: 600; }
.status-Skipped { color: #777; } .muted { color: #666; } img { max-width: 100%; }
.plots { display: flex; flex-wrap: wrap; gap: 12px; } .plots figure { margin: 0; }
figcaption { color: #555; font-size: 12px; }
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _num(value: Any, digits: int = 4) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) else "-"


def dag_svg(definition: dict[str, Any], steps: list[dict[str, Any]]) -> str:
    """The DAG as inline SVG: one row per depth (longest path from a first step)."""
    nodes, edges = nodes_and_edges(definition)
    status = {s["name"]: s for s in steps}
    parents: dict[str, list[str]] = defaultdict(list)
    for edge in edges:
        parents[edge.target].append(edge.source)
    depth: dict[str, int] = {}

    def level(name: str, seen: frozenset[str] = frozenset()) -> int:
        if name not in depth:
            ups = [p for p in parents[name] if p not in seen]
            depth[name] = 1 + max((level(p, seen | {name}) for p in ups), default=-1)
        return depth[name]

    rows: dict[int, list[str]] = defaultdict(list)
    for node in nodes:
        rows[level(node.name)].append(node.name)
    width = max(len(r) for r in rows.values()) * (NODE_W + GAP_X) + GAP_X
    height = len(rows) * (NODE_H + GAP_Y) + GAP_Y
    where: dict[str, tuple[float, float]] = {}
    for row, names in rows.items():
        left = (width - len(names) * (NODE_W + GAP_X) + GAP_X) / 2
        for i, name in enumerate(names):
            where[name] = (left + i * (NODE_W + GAP_X), GAP_Y / 2 + row * (NODE_H + GAP_Y))
    parts = [
        f'<svg id="dag" xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        'aria-label="pipeline DAG">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#888"/></marker></defs>',
    ]
    for edge in _reduced(edges):
        (x1, y1), (x2, y2) = where[edge.source], where[edge.target]
        a, b = (x1 + NODE_W / 2, y1 + NODE_H), (x2 + NODE_W / 2, y2)
        dash = ' stroke-dasharray="5,4"' if edge.label == "false" else ""
        bend = (b[1] - a[1]) / 2
        parts.append(
            f'<path d="M{a[0]:.0f},{a[1]:.0f} C{a[0]:.0f},{a[1] + bend:.0f} '
            f'{b[0]:.0f},{b[1] - bend:.0f} {b[0]:.0f},{b[1]:.0f}" fill="none" '
            f'stroke="#888" marker-end="url(#arrow)"{dash}/>'
        )
        if edge.label:
            parts.append(
                f'<text x="{(a[0] + b[0]) / 2 + 4:.0f}" y="{(a[1] + b[1]) / 2:.0f}" '
                f'font-size="10" fill="#666">{edge.label}</text>'
            )
    for node in nodes:
        x, y = where[node.name]
        step = status.get(node.name, {})
        state = step.get("status", "NotRun")
        seconds = step.get("seconds")
        cached = " (cache)" if step.get("cache_hit") else ""
        detail = f"{state} {seconds:.1f}s{cached}" if isinstance(seconds, (int, float)) else state
        parts.append(
            f'<g class="step" data-step="{_e(node.name)}" data-status="{_e(state)}">'
            f'<rect x="{x:.0f}" y="{y:.0f}" width="{NODE_W}" height="{NODE_H}" rx="7" '
            f'fill="{STATUS_COLOURS.get(state, "#fff")}" stroke="#777"/>'
            f'<text x="{x + 10:.0f}" y="{y + 19:.0f}" font-size="13" font-weight="600">'
            f"{_e(node.name)}</text>"
            f'<text x="{x + 10:.0f}" y="{y + 36:.0f}" font-size="11" fill="#444">'
            f"{_e(node.type)} · {_e(detail)}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _reduced(edges: list[Edge]) -> list[Edge]:
    """The edges worth drawing: a dependency already implied by a longer path is left out
    (the DAG reads the same; branches always stay)."""
    children: dict[str, set[str]] = defaultdict(set)
    for edge in edges:
        children[edge.source].add(edge.target)

    def reaches(start: str, goal: str, skip: tuple[str, str]) -> bool:
        stack, seen = [start], set()
        while stack:
            node = stack.pop()
            for child in children[node]:
                if (node, child) == skip or child in seen:
                    continue
                if child == goal:
                    return True
                seen.add(child)
                stack.append(child)
        return False

    return [e for e in edges if e.label or not reaches(e.source, e.target, (e.source, e.target))]


def _png(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def forecast_png(forecast: Any, keys: list[str], columns: tuple[str, ...], actuals: Any) -> str:
    """The forecast of the first three series: P50 and the P10-P90 band, actuals as dots."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    low, mid, high = columns
    series_keys, date = keys[:-1], keys[-1]
    chosen = forecast[series_keys].drop_duplicates().head(3)
    fig, axes = plt.subplots(len(chosen), 1, figsize=(9, 2.3 * len(chosen)), squeeze=False)
    for ax, (_, key) in zip(axes[:, 0], chosen.iterrows(), strict=True):
        rows = forecast.merge(key.to_frame().T, on=series_keys).sort_values(date)
        when = pd.to_datetime(rows[date])
        ax.fill_between(when, rows[low], rows[high], alpha=0.25, label=f"{low}-{high}")
        ax.plot(when, rows[mid], label=mid)
        if actuals is not None:
            seen = actuals.merge(rows[keys], on=keys)
            ax.plot(pd.to_datetime(seen[date]), seen.iloc[:, -1], ".", color="k", label="actual")
        ax.set_title(", ".join(f"{k} {key[k]}" for k in series_keys), fontsize=10)
        ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _metrics_table(evaluation: dict[str, Any]) -> str:
    model = evaluation.get("regression_metrics") or {}
    naive = (evaluation.get("naive_baseline") or {}).get("regression_metrics") or {}
    champion = (evaluation.get("champion") or {}).get("regression_metrics") or {}
    names = [
        n for n in ("wape", "mase", "bias", "mape", "rmspe", "rmse", "mae", "r2") if n in model
    ]
    rows = "".join(
        f"<tr><td>{_e(n.upper() if n != 'bias' else n)}</td>"
        f'<td class="num">{_num(model[n].get("value"))}</td>'
        f'<td class="num">{_num(naive.get(n, {}).get("value"))}</td>'
        f'<td class="num">{_num(champion.get(n, {}).get("value"))}</td></tr>'
        for n in names
    )
    return (
        '<table id="metrics"><tr><th>metric</th><th>model</th><th>seasonal naive</th>'
        f"<th>champion</th></tr>{rows}</table>"
    )


def _registry(document: dict[str, Any]) -> str:
    package = document.get("model_package")
    again = document.get("already_registered")
    if again:
        return f"nothing new: the model is version {_e(again.get('version'))} already"
    if package:
        return (
            f"registered {_e(package.get('ModelPackageGroupName', ''))} version "
            f"{_e(package.get('ModelPackageVersion'))} "
            f"({_e(package.get('ModelApprovalStatus'))})"
        )
    return "not registered" + (
        f": {_e(document['failure_reason'])}" if document.get("failure_reason") else ""
    )


def build(
    document: dict[str, Any],
    definition: dict[str, Any],
    parameters: dict[str, Any],
    execution_dir: Path,
    forecast_image: str | None = None,
    plots: list[tuple[str, bytes]] | None = None,
) -> str:
    """The page for one execution's `document` (run --json's object). `plots`: (name, PNG)
    pairs; by default the PNGs the execution's processing jobs wrote under execution_dir."""
    steps = document.get("steps", [])
    evaluation = document.get("evaluation") or {}
    drift = document.get("drift_report") or {}
    status = document.get("status", "")
    head = (
        f"<h1>Pipeline execution {_e(document.get('execution_id'))}</h1>"
        f'<p><b class="status-{_e(status)}">{_e(status)}</b> in '
        f"{_num(document.get('seconds'), 1)} s"
        + (f" — {_e(document['failure_reason'])}" if document.get("failure_reason") else "")
        + "</p>"
    )
    step_rows = "".join(
        f"<tr><td>{_e(s['name'])}</td><td>{_e(s['type'])}</td>"
        f'<td class="status-{_e(s["status"])}">{_e(s["status"])}</td>'
        f'<td class="num">{_num(s.get("seconds"), 1)}</td>'
        f"<td>{_CACHE.get(s.get('cache_hit'), '')}</td>"
        f"<td>{_link(s.get('log'), execution_dir)}</td>"
        f"<td>{_e(s.get('failure_reason') or '')}</td></tr>"
        for s in steps
    )
    parameter_rows = "".join(
        f'<tr><td>{_e(k)}</td><td class="num">{_e(v)}</td></tr>'
        for k, v in sorted(parameters.items())
    )
    intervals = evaluation.get("intervals") or {}
    levels = intervals.get("levels") or [0, 1]
    coverage = (
        f"<p>P{round(min(levels) * 100)}-P{round(max(levels) * 100)} coverage "
        f"{_num(intervals.get('coverage'), 3)} (nominal "
        f"{_num(intervals.get('nominal_coverage'), 2)}), weighted quantile loss "
        f"{_num(intervals.get('weighted_quantile_loss'))}</p>"
        if intervals.get("levels")
        else ""
    )
    window = evaluation.get("test_window") or ["", ""]  # [first day, last day]
    champion = (evaluation.get("champion") or {}).get("summary", "")
    if plots is None:
        plots = [
            (p.stem, p.read_bytes())
            for p in sorted(execution_dir.glob("*/opt/ml/processing/*/*.png"))
        ]
    figures = "".join(
        f'<figure><img alt="{_e(name)}" src="{_png(data)}"><figcaption>{_e(name)}'
        "</figcaption></figure>"
        for name, data in plots
    )
    forecast = (
        f'<img id="forecast" alt="forecast with its interval" src="{forecast_image}">'
        if forecast_image
        else '<p class="muted">no forecast in this execution</p>'
    )
    features = drift.get("features") or {}
    drift_rows = "".join(
        f'<tr><td>{_e(name)}</td><td class="num">{_num(f.get("psi"))}</td>'
        f"<td>{_e(f.get('grade', ''))}</td></tr>"
        for name, f in sorted(features.items(), key=lambda kv: -(kv[1].get("psi") or 0))
    )
    accuracy = document.get("accuracy_after_the_fact") or {}
    after = (
        "<h2>Accuracy after the fact</h2><p>"
        + ", ".join(
            f"{_e(k)} {_num(v)}"
            for k, v in accuracy.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        )
        + "</p>"
        if accuracy
        else ""
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(document.get('execution_id'))}: {_e(status)}</title>"
        f"<style>{CSS}</style></head><body>{head}"
        f"<h2>Steps</h2>{dag_svg(definition, steps)}"
        '<table id="steps"><tr><th>step</th><th>type</th><th>status</th><th>seconds</th>'
        f"<th>cache</th><th>log</th><th>reason</th></tr>{step_rows}</table>"
        f'<h2>Parameters</h2><table id="parameters">{parameter_rows}</table>'
        f"<h2>Back-test {_e(window[0])}..{_e(window[-1])}</h2>"
        f"{_metrics_table(evaluation) if evaluation else '<p class=muted>not evaluated</p>'}"
        f"{coverage}<p>champion: {_e(champion)}</p>"
        f"<h2>Forecast</h2>{forecast}{after}"
        f'<h2>Evaluation plots</h2><div class="plots">{figures}</div>'
        f"<h2>Input drift (PSI vs the baseline)</h2>"
        f"<p>severe: {_e(drift.get('summary', 'not monitored'))}</p>"
        f'<table id="drift"><tr><th>feature</th><th>PSI</th><th>grade</th></tr>{drift_rows}'
        f"</table><h2>Registry</h2><p id=registry>{_registry(document)}</p>"
        "</body></html>\n"
    )


def _link(log: str | None, execution_dir: Path) -> str:
    if not log:
        return ""
    if log.startswith("https://"):  # a job's logs in the CloudWatch console
        return f'<a href="{_e(log)}">logs</a>'
    path = Path(log)
    try:
        href = path.relative_to(execution_dir).as_posix()
    except ValueError:
        href = path.as_uri() if path.is_absolute() else path.as_posix()
    return f'<a href="{_e(href)}">{_e(path.name)}</a>'
