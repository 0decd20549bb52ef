"""The chart of a plan's history: each run's duration against the RTO target and its worst data
loss against the RPO target, as a PNG that Slack
previews inline (an SVG it would not).

leather draws the chart as SVG and resvg-py renders it to PNG (docs/report.md, "History", says why
these two); both are imported here, when a chart is drawn, so no other request and not the
console's start pays for them. The labels are set in the DejaVu Sans cut shipped beside this module
(fonts/), the only font resvg is given: Lambda's runtime has no fonts, and the chart looks the same
everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from orchestration.services.plan_history import HistoryRun, PlanHistory

FONT = Path(__file__).with_name("fonts") / "DejaVuSans-Latin1.ttf"
FONT_FAMILY = "DejaVu Sans"
WIDTH, HEIGHT = 1000, 360  # SVG units; the PNG is drawn at twice that (ZOOM), sharp on any screen
ZOOM = 2
X_SPAN = 10
MAX_DATE_LABELS = 6  # a date label is about 40 units wide; more would overlap
MEASURED, TARGET = "#1d6fa5", "#c0392b"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def charted_runs(history: PlanHistory) -> list[HistoryRun]:
    """The runs a chart shows, oldest first: those with a duration (a run in progress has none)."""
    return [run for run in reversed(history.runs) if run.duration_seconds is not None]


def _minutes(seconds: int | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def _chart(
    leather: Any,
    title: str,
    *,
    runs: Sequence[HistoryRun],
    values: Sequence[float | None],
    target: int | None,
    measured_name: str,
    target_name: str,
) -> Any:
    chart = leather.Chart(title)
    # runs are placed evenly on 0..X_SPAN, which leather keeps as it is (it widens a linear scale
    # to round numbers, which 0..n would not always be)
    where = {i: X_SPAN * i / (len(runs) + 1) for i in range(1, len(runs) + 1)}
    points = [(where[i], v) for i, v in enumerate(values, 1) if v is not None]
    top = max([v for _, v in points] + ([target] if target else []) + [1.0])
    chart.add_x_scale(0, X_SPAN)
    chart.add_y_scale(0, round(top * 1.15 + 0.5))
    step = -(-len(runs) // MAX_DATE_LABELS)  # every step-th run is labelled, the newest always
    labelled = [i for i in where if (len(runs) - i) % step == 0]
    labels = [runs[i - 1].requested_at.strftime("%m-%d") for i in labelled]
    chart.add_x_axis(ticks=[where[i] for i in labelled], tick_formatter=lambda _v, index, _n: labels[index])
    chart.add_y_axis(name="minutes")
    if len(points) > 1:
        chart.add_line(points, name=measured_name, stroke_color=MEASURED, width=2)
    elif points:  # a line needs two points; one is a dot (a second series would show twice in the legend)
        chart.add_dots(points, name=measured_name, fill_color=MEASURED, radius=5)
    if target:
        chart.add_line(
            [(0, target), (X_SPAN, target)],
            name=target_name,
            stroke_color=TARGET,
            width=2,
            stroke_dasharray="6",
        )
    return chart


def history_chart_svg(history: PlanHistory) -> str | None:
    """The chart as SVG: each run's duration and its worst data loss (the RPO it achieved) in
    minutes, oldest to newest, each beside its target as a dashed line; None when no run has ended
    yet (nothing to draw)."""
    runs = charted_runs(history)
    if not runs:
        return None
    import leather  # the plotting library, only when a chart is drawn

    for part in ("title", "legend", "axis_title", "tick"):
        setattr(leather.theme, f"{part}_font_family", FONT_FAMILY)
    durations = [_minutes(run.duration_seconds) for run in runs]
    grid = leather.Grid()
    grid.add_one(
        _chart(
            leather,
            "Duration of each run (minutes)",
            runs=runs,
            values=durations,
            target=history.rto_target_minutes,
            measured_name="duration",
            target_name="RTO target",
        )
    )
    losses = [_minutes(run.worst_data_loss_seconds) for run in runs]
    if any(v is not None for v in losses) or history.rpo_target_minutes:  # else nothing to draw
        grid.add_one(
            _chart(
                leather,
                "Worst data loss of each run (minutes)",
                runs=runs,
                values=losses,
                target=history.rpo_target_minutes,
                measured_name="worst data loss",
                target_name="RPO target",
            )
        )
    return str(grid.to_svg(width=WIDTH, height=HEIGHT))


def history_chart_png(history: PlanHistory) -> bytes | None:
    """The chart as PNG (see history_chart_svg); None when there is nothing to draw."""
    svg = history_chart_svg(history)
    if svg is None:
        return None
    import resvg_py  # renders the SVG; only when a chart is drawn

    png = resvg_py.svg_to_bytes(
        svg_string=svg,
        background="#ffffff",
        skip_system_fonts=True,
        font_files=[str(FONT)],
        font_family=FONT_FAMILY,
        sans_serif_family=FONT_FAMILY,
        zoom=ZOOM,
    )
    return bytes(png)
