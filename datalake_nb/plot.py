"""Pictures of a lake: coverage over time (``timeline``: each where's archived time spans
as bars, so gaps stand out) and lines over time (``histogram``: counts per bin and where).

Log archives have holes (a host was down, a shipper stalled); a picture shows
them at a glance where a table of start/end times does not.  matplotlib is
imported only when a picture is drawn, so ``import datalake_nb`` stays fast.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import matplotlib.axes
    import pandas as pd

ROW_HEIGHT = 0.8      # of one where's row (rows are 1 apart), the rest is a gap between rows
MIN_SPAN_DAYS = 1 / 24  # x range shown when every file starts and ends at the same instant
SEAM_GAP = 0.004  # files closer than this share of the axis meet: a seam marks where


def timeline(frame: "pd.DataFrame | Any", ax: "matplotlib.axes.Axes | None" = None,
             title: str | None = None, start: Any = None,
             end: Any = None) -> "matplotlib.axes.Axes":
    """Draw each file's [start, end] as a bar: one row per where, one colour per what.

    ``frame`` is a ``Lake.list()`` DataFrame (or anything with ``what``,
    ``where``, ``start`` and ``end`` columns, or a list of Records).  Within a
    where's row every what gets its own lane, so overlapping files of
    different whats do not hide each other.  Files without an end (instants)
    are drawn as thin vertical markers.  The time axis is UTC and spans at least
    ``start`` .. ``end`` when given (the query's range, any time form), so gaps at
    the edges show.  Returns the Axes; draws into ``ax`` when given, else into a
    new figure sized to the number of rows, whose Axes a notebook shows as the
    picture alone (no ``<Axes: ...>`` line).  Never calls ``plt.show()``.
    """
    import matplotlib.dates as mdates
    import numpy as np
    from matplotlib.patches import Patch

    frame = _as_frame(frame)
    span = _span(start, end)
    wheres = sorted(frame["where"].astype(str).unique()) if len(frame) else []
    whats = sorted(frame["what"].astype(str).unique()) if len(frame) else []
    if ax is None:
        import matplotlib.pyplot as plt
        _, ax = plt.subplots(figsize=figure_size(len(wheres)), layout="constrained",
                             subplot_kw={"axes_class": _axes_class()})
    if title is None:
        title = f"Archived time spans: {len(frame)} file{'s' if len(frame) != 1 else ''}"
    ax.set_title(title)

    if not len(frame):
        ax.text(0.5, 0.5, "no files", transform=ax.transAxes, ha="center", va="center",
                fontsize="large", color="0.4")
        ax.set_xticks([])
        ax.set_yticks([])
        return ax

    starts = _day_numbers(frame["start"])
    ends = _day_numbers(frame["end"]) if "end" in frame else np.full(len(frame), np.nan)
    colours = _colours(len(whats))
    colour_of = dict(zip(whats, colours))
    row_of = {where: i for i, where in enumerate(wheres)}
    where_col = frame["where"].astype(str).to_numpy()
    what_col = frame["what"].astype(str).to_numpy()

    seams: list[tuple[Any, float, float]] = []  # where one file meets the next in a lane
    for where in wheres:
        in_row = where_col == where
        lanes = sorted(set(what_col[in_row]))
        lane_height = ROW_HEIGHT / len(lanes)
        top = row_of[where] - ROW_HEIGHT / 2
        for n, what in enumerate(lanes):
            chosen = in_row & (what_col == what)
            s, e = starts[chosen], ends[chosen]
            y0 = top + n * lane_height
            spans = ~np.isnan(e) & (e > s)
            if spans.any():
                # An edge in the face colour keeps a minute-long file visible on a
                # month-wide axis; the bar's own extent is still exactly [start, end].
                ax.broken_barh(list(zip(s[spans], (e - s)[spans])), (y0, lane_height),
                               facecolors=colour_of[what], edgecolors=colour_of[what],
                               linewidth=0.6, label=f"{where}/{what}")
                seams.append((_seams(s[spans], e[spans]), y0, y0 + lane_height))
            if (~spans).any():
                ax.vlines(s[~spans], y0, y0 + lane_height, colors=colour_of[what],
                          linewidth=1.5, label=f"{where}/{what} instants")

    low = float(np.nanmin([np.nanmin(starts), *span[:1]]))
    high = float(np.nanmax([np.nanmax(np.fmax(starts, ends)),  # fmax: an instant's NaN end
                            *span[1:]]))
    if high - low < MIN_SPAN_DAYS:
        middle = (low + high) / 2
        low, high = middle - MIN_SPAN_DAYS / 2, middle + MIN_SPAN_DAYS / 2
    pad = (high - low) * 0.02
    ax.set_xlim(low - pad, high + pad)
    # Files that meet (hourly or daily files, each ending where the next starts) would
    # read as one bar: a white line at each seam shows every file's own extent.
    touching = (high - low) * SEAM_GAP
    for at, y0, y1 in seams:
        shown = at[at[:, 1] <= touching, 0] if len(at) else at
        if len(shown):
            ax.vlines(shown, y0, y1, colors="white", linewidth=1.5, gid="file-seams")
    ax.set_ylim(len(wheres) - 0.5, -0.5)  # first where on top
    ax.set_yticks(range(len(wheres)), wheres)
    ax.set_ylabel("where")

    locator = mdates.AutoDateLocator(tz="UTC")
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz="UTC"))
    ax.set_xlabel("time (UTC)")
    ax.grid(axis="x", color="0.85", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.legend(handles=[Patch(facecolor=colour_of[w], label=w) for w in whats], title="what",
              loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize="small")
    return ax


def histogram(frame: "pd.DataFrame", ax: "matplotlib.axes.Axes | None" = None,
              title: str | None = None) -> "matplotlib.axes.Axes":
    """Draw ``Lake.histogram()``'s counts as bars over time, stacked by where (one colour
    each), a bar per bin.  Returns the Axes; draws into ``ax`` when given, else into a new
    figure that a notebook shows as the picture alone.  Never calls ``plt.show()``."""
    import matplotlib.dates as mdates
    import numpy as np
    import pandas as pd
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    missing = {"time", "where", "count"} - set(getattr(frame, "columns", ()))
    if missing:
        from .core.errors import InvalidInput
        raise InvalidInput("frame", "needs the columns of Lake.histogram(); missing "
                                    + ", ".join(sorted(missing)))
    if ax is None:
        import matplotlib.pyplot as plt
        _, ax = plt.subplots(figsize=(10.0, 3.6), layout="constrained",
                             subplot_kw={"axes_class": _axes_class()})
    every = frame.attrs.get("every")
    width = pd.Timedelta(every) if every is not None else pd.Timedelta("1min")
    total = int(frame["count"].sum()) if len(frame) else 0
    what = frame.attrs.get("counting", "lines")
    if title is None:
        title = f"{what.capitalize()} per {_width_text(width)}: {total:,} in all"
    ax.set_title(title)
    if not len(frame):
        ax.text(0.5, 0.5, f"no {what}", transform=ax.transAxes, ha="center", va="center",
                fontsize="large", color="0.4")
        ax.set_xticks([])
        ax.set_yticks([])
        return ax
    wide = frame.pivot_table(index="time", columns="where", values="count", aggfunc="sum",
                             fill_value=0, observed=False, sort=True)
    wheres = list(dict.fromkeys(frame["where"].astype(str)))
    wide = wide.reindex(columns=wheres, fill_value=0)
    x = _day_numbers(pd.Series(wide.index))
    days = width / pd.Timedelta(days=1)
    colours = _colours(len(wheres))
    bottom = np.zeros(len(wide))
    for where, colour in zip(wheres, colours):
        heights = wide[where].to_numpy(dtype=float)
        ax.bar(x, heights, width=days, bottom=bottom, align="edge", color=colour,
               edgecolor="white", linewidth=0.3 if len(x) < 200 else 0, label=where)
        bottom += heights
    ax.set_xlim(x[0], x[-1] + days)
    ax.set_ylabel(f"{what} per {_width_text(width)}")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 0.25 of a line
    locator = mdates.AutoDateLocator(tz="UTC")
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz="UTC"))
    ax.set_xlabel("time (UTC)")
    ax.grid(axis="y", color="0.85", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.legend(handles=[Patch(facecolor=c, label=w) for w, c in zip(wheres, colours)],
              title="where", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
              fontsize="small")
    return ax


def png(draw: Any, frame: Any, size: tuple[float, float] = (10.0, 3.6)) -> bytes:
    """``draw(frame, ax=...)`` as PNG bytes, on a Figure made without pyplot: nothing
    depends on the notebook's backend and no figure is left open."""
    import io

    from matplotlib.figure import Figure
    fig = Figure(figsize=size, layout="constrained")
    draw(frame, ax=fig.subplots())
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=96)
    return buffer.getvalue()


def _width_text(width: Any) -> str:
    """A bin width as people say it: 5 min, 1 h, 1 day, 30 s."""
    seconds = int(width.total_seconds())
    for unit, size in (("day", 86_400), ("h", 3_600), ("min", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if unit == 'day' and count != 1 else ''}"
    return f"{seconds} s"


def _seams(starts: Any, ends: Any) -> Any:
    """[(x, gap)] for each file that begins at or before the end of the file before it in
    its lane (sorted by start): x where it begins, gap to that end (<= 0 when they
    overlap).  The caller keeps the ones whose gap is too small to see."""
    import numpy as np

    order = np.argsort(starts, kind="stable")
    s, e = starts[order], ends[order]
    if len(s) < 2:
        return np.empty((0, 2))
    reach = np.maximum.accumulate(e)[:-1]  # the furthest end of the files before each
    return np.column_stack([s[1:], s[1:] - reach])


def _span(start: Any, end: Any) -> list[float]:
    """The query's [start, end] as matplotlib day numbers (NaN for an open end)."""
    import matplotlib.dates as mdates
    import numpy as np

    from .core import times
    return [float("nan") if value is None else
            float(mdates.date2num(np.datetime64(times.to_ms(value, field), "ms")))
            for value, field in ((start, "start"), (end, "end"))]


_AXES: dict[str, type] = {}


def _axes_class() -> type:
    """Axes that a notebook shows as their figure, instead of the text ``<Axes: ...>``
    and then the figure: the figure is shown once and let go by pyplot's inline backend."""
    if "class" not in _AXES:
        from matplotlib.axes import Axes

        class TimelineAxes(Axes):
            def _ipython_display_(self) -> None:
                import matplotlib
                import matplotlib.pyplot as plt
                from IPython.display import display
                if "inline" in matplotlib.get_backend():
                    display(self.figure)
                    plt.close(self.figure)  # shown: not again when the cell ends
                # elsewhere pyplot shows the figure (plt.show(), a GUI window)

        _AXES["class"] = TimelineAxes
    return _AXES["class"]


def figure_size(rows: int) -> tuple[float, float]:
    """(width, height) in inches that give each where's row room for its label."""
    return 10.0, min(40.0, 1.6 + 0.45 * max(rows, 1))


def _as_frame(frame: Any) -> "pd.DataFrame":
    """A list() frame as is; Records (or an iterable of them) through to_frame."""
    if hasattr(frame, "columns"):
        missing = {"what", "where", "start"} - set(frame.columns)
        if missing:
            from .core.errors import InvalidInput
            raise InvalidInput("frame", f"needs the columns of Lake.list(); missing "
                                        f"{', '.join(sorted(missing))}")
        return frame
    from .output import to_frame
    return to_frame(list(frame))


def _day_numbers(column: "pd.Series") -> Any:
    """UTC timestamps (tz-aware, naive = UTC, or NaT) -> matplotlib date numbers (NaN for NaT)."""
    import matplotlib.dates as mdates
    import numpy as np
    import pandas as pd

    stamps = pd.to_datetime(column, utc=True)
    naive = stamps.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    out = np.full(len(naive), np.nan)
    present = ~np.isnat(naive)
    if present.any():
        out[present] = mdates.date2num(naive[present])
    return out


def _colours(count: int) -> list[Any]:
    """Distinct colours: tab10 / tab20 while they last, then evenly spaced hues."""
    import matplotlib

    if count <= 10:
        return list(matplotlib.colormaps["tab10"].colors[:count])
    if count <= 20:
        return list(matplotlib.colormaps["tab20"].colors[:count])
    cmap = matplotlib.colormaps["turbo"]
    return [cmap(i / max(count - 1, 1)) for i in range(count)]
