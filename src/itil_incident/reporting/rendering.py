"""Rendering the charts of the HTML report, drawn with matplotlib (the ``reports`` extra).

A :class:`Chart` is plain data: a title, axis labels (with their units), category labels and
one or more named series. :func:`render_chart` draws it with matplotlib's object-oriented API
on an Agg canvas (no ``pyplot``, no global backend change, nothing shown on screen) and returns
SVG text (fonts left as text, so labels stay searchable and crisp) or PNG bytes. Without
matplotlib, :func:`render_chart` raises :class:`MissingExtraError` naming the extra::

    pip install 'itil-incident[reports]'

>>> chart = Chart(title="Incidents logged per month", x_label="Month",
...               y_label="Incidents (count)", categories=("2026-01", "2026-02"),
...               series=(("logged", (3.0, 5.0)),))
>>> render_chart(chart, "png")[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
True
"""

from __future__ import annotations

import importlib
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any, Final, Literal, overload

import attrs

from itil_incident.errors import ItilIncidentError, ValidationError

__all__ = ["CHART_KINDS", "Chart", "MissingExtraError", "render_chart"]

#: ``bar`` (vertical bars, one group per category and one bar per series), ``hbar``
#: (horizontal bars, categories top to bottom) and ``line`` (one line per series).
CHART_KINDS: Final = ("bar", "hbar", "line")
_EXTRA: Final = "reports"
_COLOURS: Final = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


class MissingExtraError(ItilIncidentError, ImportError):
    """An optional dependency is missing: install the ``extra`` named (``pip install
    'itil-incident[<extra>]'``). Also an ``ImportError``."""

    def __init__(self, extra: str, package: str) -> None:
        super().__init__(f"{package} is needed for this: install the {extra!r} extra "
                         f"(pip install 'itil-incident[{extra}]')")
        self.extra = extra
        self.package = package


def _labels(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValidationError("categories must be a sequence of labels", field="categories")
    labels = tuple(value)
    if not all(isinstance(item, str) for item in labels):
        raise ValidationError("every category label must be a string", field="categories")
    return labels


def _series(value: object) -> tuple[tuple[str, tuple[float | None, ...]], ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
        raise ValidationError("series must be a non-empty sequence of (name, values) pairs",
                              field="series")
    result = []
    for item in value:
        if (not isinstance(item, tuple) or len(item) != 2 or not isinstance(item[0], str)
                or isinstance(item[1], (str, bytes)) or not isinstance(item[1], Sequence)):
            raise ValidationError(f"a series is a (name, values) pair, got {item!r}",
                                  field="series")
        values = tuple(None if v is None else float(v) for v in item[1])
        result.append((item[0], values))
    return tuple(result)


@attrs.frozen
class Chart:
    """One chart: ``series`` are ``(name, values)`` pairs, one value per category (None: no
    value). ``x_label`` and ``y_label`` name the axes with their units; for ``hbar`` the
    value axis is horizontal and ``y_label`` still names the values."""

    title: str
    x_label: str
    y_label: str
    categories: tuple[str, ...] = attrs.field(converter=_labels)
    series: tuple[tuple[str, tuple[float | None, ...]], ...] = attrs.field(converter=_series)
    kind: str = "bar"
    percent: bool = False

    def __attrs_post_init__(self) -> None:
        if self.kind not in CHART_KINDS:
            raise ValidationError(f"unknown chart kind {self.kind!r} (known: "
                                  f"{', '.join(CHART_KINDS)})", field="kind")
        for name, values in self.series:
            if len(values) != len(self.categories):
                raise ValidationError(f"series {name!r} has {len(values)} values for "
                                      f"{len(self.categories)} categories", field="series")


def _matplotlib() -> tuple[Any, Any, Any]:
    try:
        figure = importlib.import_module("matplotlib.figure")
        agg = importlib.import_module("matplotlib.backends.backend_agg")
        matplotlib = importlib.import_module("matplotlib")
    except ImportError:
        raise MissingExtraError(_EXTRA, "matplotlib") from None
    return matplotlib, figure, agg


_SVG_NOISE = re.compile(r"<\?xml[^>]*\?>\s*|<!DOCTYPE[^>]*>\s*|<metadata>.*?</metadata>\s*",
                        re.DOTALL)

_SVG_IDS = re.compile(r'(\bid="|\bhref="#|url\(#)([^"\)]*)')
_PREFIX = re.compile(r"[A-Za-z0-9_-]*")


@overload
def render_chart(chart: Chart, fmt: Literal["svg"] = "svg", *, id_prefix: str = "") -> str: ...


@overload
def render_chart(chart: Chart, fmt: Literal["png"], *, id_prefix: str = "") -> bytes: ...


def render_chart(chart: Chart, fmt: Literal["svg", "png"] = "svg", *, id_prefix: str = ""
                 ) -> str | bytes:
    """``chart`` drawn as SVG text (to inline in HTML: no XML prolog, no metadata) or PNG
    bytes (``fmt="png"``). ``id_prefix`` is put before every id of the SVG and the
    references to them, so that several charts can share one HTML page. Raises
    :class:`MissingExtraError` without matplotlib."""
    if not isinstance(chart, Chart):
        raise ValidationError(f"chart must be a Chart, got {type(chart).__name__}",
                              field="chart")
    if fmt not in ("svg", "png"):
        raise ValidationError(f"fmt must be 'svg' or 'png', got {fmt!r}", field="fmt")
    if not isinstance(id_prefix, str) or not _PREFIX.fullmatch(id_prefix):
        raise ValidationError(f"id_prefix must be letters, digits, '-' or '_', got "
                              f"{id_prefix!r}", field="id_prefix")
    matplotlib, figure_module, agg = _matplotlib()
    settings = {"svg.fonttype": "none", "svg.hashsalt": "itil-incident", "font.size": 9}
    with matplotlib.rc_context(settings):
        rows = len(chart.categories) if chart.kind == "hbar" else 0
        figure = figure_module.Figure(figsize=(7.0, max(3.2, 1.2 + 0.3 * rows)), dpi=100,
                                      layout="constrained")
        agg.FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        _draw(axes, chart)
        buffer = io.BytesIO()
        figure.savefig(buffer, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    if fmt == "png":
        return buffer.getvalue()
    svg = _SVG_NOISE.sub("", buffer.getvalue().decode("utf-8")).strip()
    if id_prefix:
        svg = _SVG_IDS.sub(lambda m: f"{m.group(1)}{id_prefix}{m.group(2)}", svg)
    return svg


def _draw(axes: Any, chart: Chart) -> None:
    positions = list(range(len(chart.categories)))
    count = len(chart.series)
    if chart.kind == "line":
        for index, (name, values) in enumerate(chart.series):
            points = [(p, v) for p, v in zip(positions, values, strict=True) if v is not None]
            axes.plot([p for p, _ in points], [v for _, v in points], marker="o",
                      color=_COLOURS[index % len(_COLOURS)], label=name)
    else:
        width = 0.8 / count
        for index, (name, values) in enumerate(chart.series):
            shifted = [p - 0.4 + width * (index + 0.5) for p in positions]
            heights = [0.0 if v is None else v for v in values]
            bar = axes.barh if chart.kind == "hbar" else axes.bar
            bar(shifted, heights, width, color=_COLOURS[index % len(_COLOURS)], label=name)
    if chart.kind == "hbar":
        axes.set_yticks(positions, chart.categories)
        axes.invert_yaxis()
        axes.set_xlabel(chart.y_label)
        axes.set_ylabel(chart.x_label)
        axes.grid(axis="x", alpha=0.3)
    else:
        axes.set_xticks(positions, chart.categories,
                        rotation=45 if len(chart.categories) > 6 else 0,
                        ha="right" if len(chart.categories) > 6 else "center")
        axes.set_xlabel(chart.x_label)
        axes.set_ylabel(chart.y_label)
        axes.grid(axis="y", alpha=0.3)
    top = 105 if chart.percent else None  # rates are drawn on a fixed 0-100 % scale
    if chart.kind == "hbar":
        axes.set_xlim(0, top)
    else:
        axes.set_ylim(0, top)
    axes.set_title(chart.title)
    axes.legend(loc="best", frameon=False)
