"""The default evaluator's plots and tables, built once and logged to the run.

Every plot is an Altair chart logged as Vega-Lite JSON (``<name>.vl.json``: the lab extension
and any Vega-Lite viewer render it, no image library needed) and, when matplotlib is
importable, also as ``<name>.png`` under MLflow's artifact names (``confusion_matrix``,
``roc_curve_plot``, ``precision_recall_curve_plot``, ``lift_curve_plot``,
``calibration_curve_plot``, ``residuals_plot``). Without matplotlib the PNGs are skipped
with one log message: labtrack does not depend on it.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from typing import Any

_log = logging.getLogger("labtrack.evaluation")


@dataclass
class EvaluationArtifact:
    """A logged evaluation artifact: where it is (``uri``) and what it holds (``content``: a
    chart, a DataFrame, a dict or PNG bytes)."""

    uri: str
    content: Any = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(uri={self.uri!r})"


@dataclass
class Plot:
    """One plot: its MLflow artifact name, the Altair chart and a matplotlib drawing."""

    name: str
    chart: Any
    draw: Any  # (matplotlib Axes) -> None


def has_matplotlib() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


# ---- classifiers ------------------------------------------------------------------------


def confusion_matrix_plot(y_true: Any, y_pred: Any, labels: Any, sample_weight: Any) -> Plot:
    """Normalized by true class (rows sum to 1), as MLflow's evaluator and autolog draw it."""
    import altair as alt
    import pandas as pd
    from sklearn import metrics as sk

    matrix = sk.confusion_matrix(
        y_true, y_pred, labels=labels, normalize="true", sample_weight=sample_weight
    )
    names = [str(label) for label in labels]
    cells = pd.DataFrame(
        [
            {"true label": names[i], "predicted label": names[j], "fraction": float(matrix[i, j])}
            for i in range(len(names))
            for j in range(len(names))
        ]
    )
    base = alt.Chart(cells).encode(
        x=alt.X("predicted label:N", sort=names),
        y=alt.Y("true label:N", sort=names),
    )
    chart = (
        base.mark_rect().encode(color=alt.Color("fraction:Q", scale=alt.Scale(scheme="blues")))
        + base.mark_text().encode(text=alt.Text("fraction:Q", format=".2f"))
    ).properties(title="Normalized confusion matrix")

    def draw(ax: Any) -> None:
        sk.ConfusionMatrixDisplay(matrix, display_labels=names).plot(cmap="Blues", ax=ax)
        ax.set_title("Normalized confusion matrix")

    return Plot("confusion_matrix", chart, draw)


def _curves(
    kind: str, y_true: Any, y_proba: Any, labels: Any, pos_label: Any, sample_weight: Any
) -> list[tuple[str, Any, Any]]:
    """``(series label, x, y)`` per curve: the positive class for a binary model, one
    one-vs-rest curve per class otherwise."""
    import numpy as np
    from sklearn import metrics as sk

    classes = [pos_label] if len(labels) == 2 else list(labels)
    out = []
    for label in classes:
        column = y_proba[:, list(labels).index(label)]
        truth = (np.asarray(y_true) == label).astype(int)
        if kind == "roc":
            x, y, _ = sk.roc_curve(truth, column, sample_weight=sample_weight)
        else:
            precision, recall, _ = sk.precision_recall_curve(
                truth, column, sample_weight=sample_weight
            )
            x, y = recall, precision
        out.append((f"class {label}" if len(labels) > 2 else "model", x, y))
    return out


def curve_plot(
    kind: str, y_true: Any, y_proba: Any, labels: Any, pos_label: Any, sample_weight: Any
) -> Plot:
    import altair as alt
    import pandas as pd

    curves = _curves(kind, y_true, y_proba, labels, pos_label, sample_weight)
    if kind == "roc":
        name, title, xt, yt = (
            "roc_curve_plot",
            "ROC curve",
            "False Positive Rate",
            "True Positive Rate",
        )
    else:
        name, title, xt, yt = (
            "precision_recall_curve_plot",
            "Precision recall curve",
            "Recall",
            "Precision",
        )
    frame = pd.DataFrame(
        [
            {"series": series, xt: float(a), yt: float(b), "order": i}
            for series, xs, ys in curves
            for i, (a, b) in enumerate(zip(xs, ys, strict=True))
        ]
    )
    chart = (
        alt.Chart(frame)
        .mark_line(interpolate="step-after" if kind == "pr" else "linear")
        .encode(x=f"{xt}:Q", y=f"{yt}:Q", color="series:N", order="order:Q")
        .properties(title=title)
    )

    def draw(ax: Any) -> None:
        for series, xs, ys in curves:
            ax.plot(xs, ys, label=series, drawstyle="steps-post" if kind == "pr" else "default")
        ax.set_xlabel(xt)
        ax.set_ylabel(yt)
        ax.set_title(title)
        ax.legend(loc="best")

    return Plot(name, chart, draw)


def _positive_scores(y_true: Any, y_proba: Any, labels: Any, pos_label: Any) -> tuple[Any, Any]:
    import numpy as np

    scores = np.asarray(y_proba)[:, list(labels).index(pos_label)].astype(float)
    truth = (np.asarray(y_true) == pos_label).astype(int)
    return truth, scores


def lift_curve_plot(y_true: Any, y_proba: Any, labels: Any, pos_label: Any) -> Plot:
    """Binary classifiers: the lift of the top x% of examples by score (the positive rate
    among them over the overall positive rate); 1 is a random ordering."""
    import altair as alt
    import numpy as np
    import pandas as pd

    truth, scores = _positive_scores(y_true, y_proba, labels, pos_label)
    order = np.argsort(-scores, kind="stable")
    hits = np.cumsum(truth[order])
    counts = np.arange(1, len(order) + 1)
    base_rate = truth.mean() if len(truth) else 0.0
    lift = (hits / counts) / base_rate if base_rate > 0 else np.ones(len(counts))
    share = counts / len(counts)
    frame = pd.DataFrame({"fraction of sample": share, "lift": lift})
    line = alt.Chart(frame).mark_line().encode(x="fraction of sample:Q", y="lift:Q")
    baseline = (
        alt.Chart(pd.DataFrame({"lift": [1.0]}))
        .mark_rule(color="gray", strokeDash=[4, 4])
        .encode(y="lift:Q")
    )
    title = f"Lift curve (positive class {pos_label})"
    chart = (line + baseline).properties(title=title)

    def draw(ax: Any) -> None:
        ax.plot(share, lift, label=f"class {pos_label}")
        ax.axhline(1.0, color="gray", linestyle="--", linewidth=1, label="baseline")
        ax.set_xlabel("Fraction of sample")
        ax.set_ylabel("Lift")
        ax.set_title(title)
        ax.legend(loc="best")

    return Plot("lift_curve_plot", chart, draw)


def calibration_curve_plot(
    y_true: Any, y_proba: Any, labels: Any, pos_label: Any, n_bins: int = 10
) -> Plot:
    """Binary classifiers: the observed positive rate per bin of predicted probability
    (scikit-learn's ``calibration_curve``, uniform bins); the diagonal is perfect calibration.
    Sample weights are not applied here (scikit-learn's function takes none)."""
    import altair as alt
    import pandas as pd
    from sklearn.calibration import calibration_curve

    truth, scores = _positive_scores(y_true, y_proba, labels, pos_label)
    observed, predicted = calibration_curve(truth, scores, n_bins=n_bins)
    frame = pd.DataFrame(
        {"mean predicted probability": predicted, "fraction of positives": observed}
    )
    line = (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(x="mean predicted probability:Q", y="fraction of positives:Q")
    )
    diagonal = (
        alt.Chart(pd.DataFrame({"x": [0.0, 1.0], "y": [0.0, 1.0]}))
        .mark_line(color="gray", strokeDash=[4, 4])
        .encode(x="x:Q", y="y:Q")
    )
    title = "Calibration curve"
    chart = (line + diagonal).properties(title=title)

    def draw(ax: Any) -> None:
        ax.plot(predicted, observed, marker="o", label="model")
        ax.plot([0, 1], [0, 1], color="gray", linestyle="--", linewidth=1, label="perfect")
        ax.set_xlabel("Mean predicted probability")
        ax.set_ylabel("Fraction of positives")
        ax.set_title(title)
        ax.legend(loc="best")

    return Plot("calibration_curve_plot", chart, draw)


# ---- regressors -------------------------------------------------------------------------


def residuals_plot(y_true: Any, y_pred: Any) -> Plot:
    """Residual (target - prediction) against prediction: structure here is model bias."""
    import altair as alt
    import numpy as np
    import pandas as pd

    pred = np.asarray(y_pred, dtype=float).ravel()
    resid = np.asarray(y_true, dtype=float).ravel() - pred
    frame = pd.DataFrame({"prediction": pred, "residual": resid})
    points = (
        alt.Chart(frame).mark_circle(size=30, opacity=0.6).encode(x="prediction:Q", y="residual:Q")
    )
    zero = (
        alt.Chart(pd.DataFrame({"residual": [0.0]})).mark_rule(color="gray").encode(y="residual:Q")
    )
    chart = (points + zero).properties(title="Residuals")

    def draw(ax: Any) -> None:
        ax.scatter(pred, resid, s=10, alpha=0.6)
        ax.axhline(0.0, color="gray", linewidth=1)
        ax.set_xlabel("prediction")
        ax.set_ylabel("residual")
        ax.set_title("Residuals")

    return Plot("residuals_plot", chart, draw)


def matplotlib_figure(plot: Plot) -> Any:
    """A bare ``Figure`` (not pyplot): no global figure state, no window, no backend choice
    forced on the user's session."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.0, 4.0), dpi=100)
    plot.draw(figure.add_subplot(1, 1, 1))
    figure.tight_layout()
    return figure
