"""The local run's summary table: steps, metrics against the naive baseline, champion,
drift, registration and predictions."""

from __future__ import annotations

from typing import Any

# (metric, label): which rows each is over is in evaluation.json's metric_rows
ROWS = (
    ("wape", "WAPE"),
    ("mase", "MASE"),
    ("bias", "bias"),
    ("mape", "MAPE (>0)"),
    ("rmspe", "RMSPE (>0)"),
    ("rmse", "RMSE"),
    ("mae", "MAE"),
    ("r2", "R2"),
)


def already_registered(result: Any, latest: Any) -> bool:
    """Whether the run trained the very artifact of `latest` (the group's latest version),
    so that CheckAlreadyRegistered left RegisterModel out."""
    status = {s.name: s.status for s in result.steps}
    return (
        latest is not None
        and result.status == "Succeeded"
        and status.get("CheckAlreadyRegistered") == "Succeeded"
        and status.get("RegisterModel") == "Skipped"
    )


def table(
    result: Any, champion: Any = None, accuracy: str | None = None, latest: Any = None
) -> str:
    """The summary; `latest` is the group's latest version before the run (what
    RegisteredModelDataUri was filled with)."""
    lines = [
        f"Pipeline execution {result.execution_id}: {result.status} in {result.seconds:.1f}s",
        "",
    ]
    width = max([len(s.name) for s in result.steps] + [17]) + 1
    lines.append(f"{'step':<{width}} {'type':<14} {'status':<10} {'seconds':>8}  cache")
    for s in result.steps:
        cache = "hit" if s.cache_hit else ("miss" if s.cache_hit is False else "")
        lines.append(
            f"{s.name:<{width}} {s.type:<14} {s.status:<10} {s.seconds:>8.1f}  {cache}".rstrip()
        )
    summary = result.as_json()
    metrics = summary["metrics"]
    if metrics:
        naive = (
            (summary["evaluation"] or {}).get("naive_baseline", {}).get("regression_metrics", {})
        )
        evaluation = summary["evaluation"] or {}
        window = "..".join(evaluation.get("test_window", []))
        lines += [
            "",
            f"back-test {window} (open days; the model fitted before it):",
            f"{'metric':<22} {'model':>12} {'seasonal naive':>15}",
        ]
        for name, label in ROWS:
            if name in metrics:
                base = naive.get(name, {}).get("value")
                lines.append(
                    f"{label:<22} {metrics[name]['value']:>12.4f} "
                    f"{(f'{base:.4f}' if base is not None else ''):>15}"
                )
        intervals = evaluation.get("intervals")
        if intervals:
            low, high = (
                f"P{level * 100:g}" for level in (intervals["levels"][0], intervals["levels"][-1])
            )
            lines.append(
                f"{low}-{high} coverage {intervals['coverage']:.3f} (nominal "
                f"{intervals['nominal_coverage']:.2f}), weighted quantile loss "
                f"{intervals['weighted_quantile_loss']:.4f}"
            )
    champion_block = (summary["evaluation"] or {}).get("champion")
    if champion_block:
        who = f"version {champion.version}" if champion else "given"
        lines.append(
            f"champion ({who if champion_block['present'] else 'none'}): "
            f"{champion_block['summary']}"
        )
    if summary["drift"]:
        drift = summary["drift"]
        lines += [
            "",
            f"input drift (PSI vs {drift['reference'].get('mode', 'training')} "
            f"baseline): severe: {drift['summary']}; moderate: "
            f"{', '.join(drift['moderate_features']) or 'none'}",
        ]
    if result.model_package:
        package = result.model_package
        again = (
            ": the same model artifact as this version, not registered again"
            if package.get("AlreadyRegistered")
            else ""
        )
        lines += [
            "",
            f"registered: {package['ModelPackageGroupName']} version "
            f"{package['ModelPackageVersion']} ({package['ModelApprovalStatus']}){again}",
        ]
    if already_registered(result, latest):
        lines += [
            "",
            f"registered: nothing new: the trained model is version {latest.version}'s "
            "artifact (from the step cache)",
        ]
    for path in result.predictions:
        lines.append(f"forecast: {path}")
    if accuracy:
        lines += ["", accuracy]
    if result.failure_reason:
        lines += ["", f"failed: {result.failure_reason}"]
    return "\n".join(lines) + "\n"
