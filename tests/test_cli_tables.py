"""The shared table reader and encoder of the CLI: property-based fuzz plus figure details."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from knowable.cli._prepare import Preprocessing, load_table
from knowable.cli._tables import read_table

CELLS = st.one_of(
    st.sampled_from(["0", "1", "", "nan", "inf", "-inf", "1e300", "yes", "a;b", '"q"', " "]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=6),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.lists(CELLS, min_size=0, max_size=5), min_size=0, max_size=6),
    sep=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-16", "latin-1"]),
    suffix=st.sampled_from([".csv", ".tsv", ".txt"]),
)
def test_reader_either_reads_or_raises_one_clear_line(tmp_path, rows, sep, encoding, suffix):
    """Any text file: a table with >= 1 row and column, or a ValueError naming the file."""
    path = tmp_path / f"fuzz{suffix}"
    text = "\n".join(sep.join(r) for r in [["a", "t", "y"], *rows])
    try:
        path.write_bytes(text.encode(encoding))
    except UnicodeEncodeError:
        return
    try:
        prepared = load_table(path, treatment="t", outcome="y")
    except (ValueError, FileNotFoundError) as err:
        message = str(err)
        assert "\n" not in message.strip() or len(message.splitlines()) <= 2
        assert "fuzz" in message or "--" in message or "column" in message, message
        return
    assert len(prepared.X) >= 1
    assert np.isfinite(prepared.X.to_numpy()).all()
    assert set(np.unique(prepared.t)) <= {0.0, 1.0}
    assert np.isfinite(prepared.y).all() and (np.abs(prepared.y) <= 1e30).all()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=300))
def test_reader_on_arbitrary_bytes(tmp_path, data):
    path = tmp_path / "bytes.csv"
    path.write_bytes(data)
    try:
        frame = read_table(path)
    except ValueError as err:
        assert "bytes.csv" in str(err)
        return
    assert frame.shape[0] >= 1 and frame.shape[1] >= 1


def test_preprocessing_round_trip_and_order(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": ["b", "a", "b"], "k": [1, 2, 1]})
    prep = Preprocessing.fit(frame, ["x", "c", "k"], ["c", "k"], tmp_path / "f.csv")
    prep.save(tmp_path)
    loaded = Preprocessing.load(tmp_path)
    assert loaded == prep
    encoded = loaded.transform(frame[["k", "c", "x"]], tmp_path / "p.csv")
    assert list(encoded.columns) == ["x", "c=a", "c=b", "k=1", "k=2"]
    np.testing.assert_array_equal(encoded["c=a"], [0.0, 1.0, 0.0])
    # float codes read back from a file are the same categories as the ints seen at fit
    again = loaded.transform(frame.assign(k=[1.0, 2.0, 1.0]), tmp_path / "p.csv")
    pd.testing.assert_frame_equal(again, encoded[again.columns])
    (tmp_path / "preprocessing.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="preprocessing"):
        Preprocessing.load(tmp_path)


def test_bounds_figure_has_plain_log_ticks() -> None:
    """Issue 17, 10: the log axis showed 2×10⁰; ticks are plain numbers now."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from knowable.cli._bounds import plot_bounds

    lam = np.array([1.0, 1.5, 2.0, 3.0])
    fig = plot_bounds(lam, -lam, lam + 1, 1.7, "t", "ATT")
    FigureCanvasAgg(fig).draw()
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels() + ax.get_xticklabels(minor=True)]
    labels = [s for s in labels if s]
    assert labels and all("10^" not in s and "times" not in s for s in labels), labels
    assert "2" in labels
    assert ax.get_legend_handles_labels()[1][0] == "ATT bounds"
