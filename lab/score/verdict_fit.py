"""Fitting the verdict model (:mod:`lab.score.verdict`) on the calibration set, cross-validated by motion.

``python -m lab.score.verdict_fit`` builds the calibration set
(:mod:`lab.score.calibration_pairs`), compares candidate term sets and the peer
methods on the same folds, measures the uncertain band on out-of-fold
predictions, writes ``verdict.json`` and prints the README's tables.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from lab.score.verdict import TERM_INPUTS, TERMS, VERDICT_FILE, VerdictModel, compute_terms


# ------------------------------------------------------------------ fitting
def table_terms(table) -> list[dict[str, float]]:
    """Each row's :func:`compute_terms` (rows with its inputs, :data:`TERM_INPUTS`; the travel ones may
    be missing)."""
    return [compute_terms(**{k: getattr(r, k) for k in TERM_INPUTS if hasattr(r, k)})
            for r in table.itertuples(index=False)]


def term_matrix(table, terms: tuple[str, ...]) -> np.ndarray:
    """(n, len(terms)) terms of a calibration table (rows with :func:`compute_terms`'s inputs)."""
    return np.array([[row[t] for t in terms] for row in table_terms(table)], float)


def weigh_pairs(table) -> np.ndarray:
    """Per-pair weights (n,): every ``set`` of the table (synthetic motion capture, real footage) counts as
    much as every other in total, and within a set "same" and "different" count alike. Without a ``set``
    column, the classes alone are balanced."""
    y = table["same"].to_numpy(bool)
    sets = table["set"].to_numpy() if "set" in table else np.zeros(len(table))
    w = np.zeros(len(table))
    names = np.unique(sets)
    for name in names:
        for cls in (True, False):
            sel = (sets == name) & (y == cls)
            if sel.any():
                w[sel] = 1.0 / (sel.sum() * 2 * len(names))
    return w * len(table)


def fit_verdict_model(table, *, terms: tuple[str, ...] = TERMS, regularization: float = 1.0,
                      uncertain_band: tuple[float, float] = (0.5, 0.5), provenance: str = "",
                      fallback_terms: tuple[str, ...] | None = None) -> VerdictModel:
    """Logistic regression of ``same`` on the ``terms`` of ``table``, pairs weighed by :func:`weigh_pairs`,
    L2 ``regularization`` as scikit-learn's ``C``. Pairs with an unknown term are left out; with
    ``fallback_terms`` a model on those terms alone is fitted on every pair and attached as the
    model's ``fallback`` (what such pairs get)."""
    from sklearn.linear_model import LogisticRegression

    if terms[0] != "log_distance":
        raise ValueError("the first term must be log_distance")
    X = term_matrix(table, terms)
    known = np.isfinite(X).all(axis=1)
    y = table["same"].to_numpy(bool)
    lr = LogisticRegression(C=regularization, max_iter=1000).fit(
        X[known], y[known], sample_weight=weigh_pairs(table[known].reset_index(drop=True)))
    fallback = (fit_verdict_model(table, terms=fallback_terms, regularization=regularization,
                                  uncertain_band=uncertain_band, provenance=provenance)
                if fallback_terms is not None and tuple(fallback_terms) != tuple(terms) else None)
    return VerdictModel(terms=tuple(terms), coefficients=tuple(float(c) for c in lr.coef_[0]),
                        intercept=float(lr.intercept_[0]), uncertain_band=tuple(uncertain_band),
                        provenance=provenance, fallback=fallback)


def assign_motion_folds(motions, *, n_folds: int, seed: int) -> dict[str, int]:
    """Each motion to one of ``n_folds`` folds, at random (``seed``), sizes as equal as possible."""
    names = sorted(set(motions))
    order = np.random.default_rng(seed).permutation(len(names))
    return {names[i]: k % n_folds for k, i in enumerate(order)}


def cross_validate(table, *, predict, n_folds: int = 4, repeats: int = 5, seed: int = 0) -> np.ndarray:
    """Out-of-fold predictions, folds by motion: a pair is predicted by a model fitted on pairs none of
    whose motions is either of its own (so neither its recordings nor its movements were seen).

    ``predict(train, test) -> scores`` (higher = more alike). Motions are dealt into ``n_folds`` folds
    ``repeats`` times with different seeds; a pair is tested when both its motions fall in one fold, and its
    predictions are averaged over the repeats that tested it (NaN if none did).
    """
    ref = table["reference_motion"].to_numpy()
    att = table["attempt_motion"].to_numpy()
    total, count = np.zeros(len(table)), np.zeros(len(table))
    for r in range(repeats):
        folds = assign_motion_folds(np.concatenate([ref, att]), n_folds=n_folds, seed=seed + r)
        fr = np.array([folds[m] for m in ref])
        fa = np.array([folds[m] for m in att])
        for k in range(n_folds):
            test = (fr == k) & (fa == k)
            train = (fr != k) & (fa != k)
            if not test.any() or table["same"][train].nunique() < 2:
                continue
            total[test] += predict(table[train], table[test])
            count[test] += 1
    with np.errstate(invalid="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def expected_calibration_error(p, y, *, n_bins: int = 10, weights=None) -> float:
    """Expected calibration error: the mean over equal-width bins of |mean p - share same|, weighted by count
    (by the summed ``weights`` of the pairs, e.g. :func:`weigh_pairs`, when given)."""
    t = reliability_table(p, y, n_bins=n_bins, weights=weights)
    if t.empty:
        return float("nan")
    w = t["weight"].to_numpy(float)
    return float(np.sum(np.abs(t["mean_p_same"] - t["share_same"]) * w) / w.sum())


def simulate_calibrated_ece(p, *, weights=None, n_bins: int = 10, n_draws: int = 200, seed: int = 0) -> tuple[float, float]:
    """What a perfectly calibrated model would score: the median and 95th percentile of the expected
    calibration error over ``n_draws`` label sets drawn with ``P(same) = p`` (the error of an estimate from a
    finite set of pairs, which a target below it cannot ask for)."""
    p = np.asarray(p, float)
    w = None if weights is None else np.asarray(weights, float)
    ok = np.isfinite(p)
    rng = np.random.default_rng(seed)
    draws = [expected_calibration_error(p[ok], rng.random(ok.sum()) < p[ok], n_bins=n_bins,
                                        weights=None if w is None else w[ok]) for _ in range(n_draws)]
    return float(np.median(draws)), float(np.percentile(draws, 95))


def reliability_table(p, y, *, n_bins: int = 10, weights=None):
    """Per bin of ``p_same``: count, mean predicted, share actually same (a reliability diagram's points).

    With ``weights`` (one per pair, e.g. :func:`weigh_pairs`: classes alike) the means and shares are
    weighted, and ``weight`` is the bin's share of the total weight (else of the pairs)."""
    import pandas as pd

    p, y = np.asarray(p, float), np.asarray(y, bool)
    w = np.ones(len(p)) if weights is None else np.asarray(weights, float)
    ok = np.isfinite(p)
    p, y, w = p[ok], y[ok], w[ok]
    bins = np.clip((p * n_bins).astype(int), 0, n_bins - 1)
    rows = []
    for b in range(n_bins):
        sel = bins == b
        if sel.any() and w[sel].sum() > 0:
            rows.append({"bin_low": b / n_bins, "bin_high": (b + 1) / n_bins, "count": int(sel.sum()),
                         "mean_p_same": float(np.average(p[sel], weights=w[sel])),
                         "share_same": float(np.average(y[sel], weights=w[sel])),
                         "weight": float(w[sel].sum() / w.sum())})
    return pd.DataFrame(rows, columns=["bin_low", "bin_high", "count", "mean_p_same", "share_same", "weight"])


# ------------------------------------------------------------------ evaluation
#: Term sets compared by :func:`evaluate_verdict_models` (the first is the distance alone: one fixed line).
CANDIDATE_TERMS: dict[str, tuple[str, ...]] = {
    "distance alone (one fixed line)": ("log_distance",),
    "distance / motion of both clips": ("log_distance", "log_reference_motion", "log_attempt_motion"),
    "distance / motion + coverage": ("log_distance", "log_reference_motion", "log_attempt_motion",
                                     "matched_fraction"),
    "distance + travel": ("log_distance", "travel_difference"),
    "distance / motion + coverage + travel": ("log_distance", "log_reference_motion", "log_attempt_motion",
                                              "matched_fraction", "travel_difference"),
    "distance / motion + coverage + relative travel": ("log_distance", "log_reference_motion",
                                                       "log_attempt_motion", "matched_fraction",
                                                       "relative_travel_difference"),
    "distance / motion + coverage + relative travel + direction": ("log_distance", "log_reference_motion",
                                                                   "log_attempt_motion", "matched_fraction",
                                                                   "relative_travel_difference",
                                                                   "travel_direction_difference"),
    "all terms": TERMS,
}


#: The candidate with one learnt weight per joint feature (:func:`fit_weighted_distance`); measured, not shipped.
WEIGHTED_DISTANCE_NAME = "per-joint weighted distance / motion + coverage (not shipped)"

#: What a pair whose travel is unknown is judged on (the shipped model's ``fallback``).
FALLBACK_TERMS: tuple[str, ...] = ("log_distance", "log_reference_motion", "log_attempt_motion", "matched_fraction")


def _fast_logistic_predictor(terms: tuple[str, ...]):
    def predict(train, test):
        m = fit_verdict_model(train, terms=terms, fallback_terms=FALLBACK_TERMS)
        return np.array([m.p_same(dict(zip(TERMS, row))) for row in term_matrix(test, TERMS)])
    return predict


def _peer_predictor(column: str):
    """A peer's distance with its own fixed line, fitted on the training folds (logistic on its log)."""
    from sklearn.linear_model import LogisticRegression

    def predict(train, test):
        x = np.log(np.maximum(train[column].to_numpy(float), 1e-9))[:, None]
        ok = np.isfinite(x[:, 0])
        lr = LogisticRegression(max_iter=1000).fit(x[ok], train["same"].to_numpy(bool)[ok],
                                                   sample_weight=weigh_pairs(train)[ok])
        xt = np.log(np.maximum(test[column].to_numpy(float), 1e-9))[:, None]
        out = np.full(len(test), np.nan)
        okt = np.isfinite(xt[:, 0])
        if okt.any():
            out[okt] = lr.predict_proba(xt[okt])[:, 1]
        return out
    return predict


#: Terms the per-joint weighted distance is judged with besides its own log (see :func:`fit_weighted_distance`).
WEIGHTED_DISTANCE_TERMS: tuple[str, ...] = ("log_reference_motion", "log_attempt_motion", "matched_fraction")
#: L2 penalty on the log-weights of :func:`fit_weighted_distance` (pulls every weight towards 1).
WEIGHT_REGULARIZATION = 1e-3


def joint_distance_columns(table) -> list[str]:
    """The table's per-joint distance columns (:func:`lab.score.calibration_pairs.measure_distance_by_joint`)."""
    from lab.score.calibration_pairs import JOINT_DISTANCE_PREFIX

    return [c for c in table.columns if c.startswith(JOINT_DISTANCE_PREFIX)]


def weigh_joint_distances(squared, weights) -> np.ndarray:
    """The weighted distance (n,) from per-joint squared distances (n, k) (NaN: unknown, left out) and
    non-negative weights (k,): ``sqrt(sum w d^2 / sum w)`` over each pair's known joints."""
    ok = np.isfinite(squared)
    num = np.where(ok, squared, 0.0) @ weights
    return np.sqrt(num / np.maximum(ok @ weights, 1e-12))


def fit_weighted_distance(table, *, regularization: float = WEIGHT_REGULARIZATION):
    """Learn one non-negative weight per joint feature (sides pooled) so that the weighted distance along
    the match separates same from different, jointly with a logistic model on its log and
    :data:`WEIGHTED_DISTANCE_TERMS` (pairs weighed by :func:`weigh_pairs`; weights' logs L2-penalized).

    Returns
    -------
    (dict joint -> weight, mean 1; predict(table) -> p_same array)
    """
    from scipy.optimize import minimize
    from scipy.special import expit

    cols = joint_distance_columns(table)
    if not cols:
        raise ValueError("the table has no per-joint distance columns")
    d2 = table[cols].to_numpy(float) ** 2
    other = term_matrix(table, WEIGHTED_DISTANCE_TERMS)
    mu, sd = other.mean(0), other.std(0) + 1e-9
    z_other = (other - mu) / sd
    y = table["same"].to_numpy(float)
    pair_w = weigh_pairs(table)
    k = len(cols)

    def loss(x):
        w = np.exp(x[:k])
        z = x[k] + x[k + 1] * np.log(np.maximum(weigh_joint_distances(d2, w), 1e-6)) + z_other @ x[k + 2:]
        nll = np.logaddexp(0, -z) * y + np.logaddexp(0, z) * (1 - y)
        return float(pair_w @ nll / pair_w.sum() + regularization * np.sum(x[:k] ** 2) + 1e-3 * np.sum(x[k + 2:] ** 2))

    x0 = np.concatenate([np.zeros(k), [0.0, -1.0], np.zeros(len(WEIGHTED_DISTANCE_TERMS))])
    x = minimize(loss, x0, method="L-BFGS-B", options={"maxiter": 500}).x
    weights = np.exp(x[:k])

    def predict(test):
        z_test = (term_matrix(test, WEIGHTED_DISTANCE_TERMS) - mu) / sd
        dist = weigh_joint_distances(test[cols].to_numpy(float) ** 2, weights)
        return expit(x[k] + x[k + 1] * np.log(np.maximum(dist, 1e-6)) + z_test @ x[k + 2:])

    names = [c.split(":", 1)[1] for c in cols]
    return dict(zip(names, (weights / weights.mean()).tolist())), predict


def _weighted_distance_predictor(train, test):
    return fit_weighted_distance(train)[1](test)


def score_predictions(table, p, *, by: str = "gap_deg"):
    """AUC, accuracy at ``p >= 0.5``, expected calibration error and counts, per ``by`` and overall; also the
    accuracy and calibration error with the pairs weighed as the fit weighs them (:func:`weigh_pairs`:
    every set, and within it "same" and "different", count alike), which is what ``p_same`` means."""
    import pandas as pd

    from lab.score.calibrate import roc_auc

    rows = []
    groups = [(g, table[by] == g) for g in sorted(table[by].unique())] + [("all", np.ones(len(table), bool))]
    for g, sel in groups:
        sel = np.asarray(sel) & np.isfinite(p)
        y = table["same"].to_numpy(bool)[sel]
        q = p[sel]
        # p_same is fitted with the classes weighed alike (weigh_pairs): it means even odds beforehand
        w = weigh_pairs(table[sel].reset_index(drop=True)) if len(q) else q
        rows.append({by: g, "n_same": int(y.sum()), "n_different": int((~y).sum()),
                     "auc": roc_auc(-q, y) if len(q) else np.nan,
                     "accuracy": float(((q >= 0.5) == y).mean()) if len(q) else np.nan,
                     "ece": expected_calibration_error(q, y),
                     "balanced_accuracy": float(np.average((q >= 0.5) == y, weights=w)) if len(q) else np.nan,
                     "balanced_ece": expected_calibration_error(q, y, weights=w) if len(q) else np.nan,
                     "calibrated_ece_95": simulate_calibrated_ece(q, weights=w)[1] if len(q) else np.nan})
    return pd.DataFrame(rows)


def choose_uncertain_band(p, y, *, target_accuracy: float = 0.95, max_half_width: float = 0.25,
                          step: float = 0.025) -> tuple[float, float]:
    """The narrowest band ``[0.5 - h, 0.5 + h)`` outside which out-of-fold verdicts reach ``target_accuracy``
    (``h`` at most ``max_half_width``)."""
    p, y = np.asarray(p, float), np.asarray(y, bool)
    ok = np.isfinite(p)
    p, y = p[ok], y[ok]
    h = 0.0
    while h < max_half_width - 1e-9:
        out = (p < 0.5 - h) | (p >= 0.5 + h)
        if out.any() and ((p[out] >= 0.5) == y[out]).mean() >= target_accuracy:
            break
        h += step
    return (round(0.5 - h, 3), round(0.5 + h, 3))


def family_of(motion: str) -> str:
    """The motion's family of look-alikes (:data:`lab.score.calibration_pairs.NEAR_TWINS`; its members
    joined by "+"), or the motion itself when it has no near-twin."""
    from lab.score.calibration_pairs import NEAR_TWINS

    for family in NEAR_TWINS:
        if motion in family:
            return "+".join(sorted(family))
    return motion


def by_family(table):
    """The table with each motion replaced by its family of look-alikes (:func:`family_of`): folds on it
    hold a whole family out, so a model is tested on movements none of whose look-alikes it was fitted on."""
    return table.assign(reference_motion=table["reference_motion"].map(family_of),
                        attempt_motion=table["attempt_motion"].map(family_of))


def evaluate_verdict_models(table, *, peers: tuple[str, ...] = (), n_folds: int = 4, repeats: int = 5,
                            seed: int = 0):
    """Out-of-fold p for each candidate term set (:data:`CANDIDATE_TERMS`) and each peer column.

    Returns
    -------
    (dict name -> out-of-fold p array, long DataFrame of :func:`score_predictions` with a ``method`` column)
    """
    import pandas as pd

    preds, tables = {}, []
    methods = {f"ours: {k}": _fast_logistic_predictor(v) for k, v in CANDIDATE_TERMS.items()}
    if joint_distance_columns(table):
        methods[f"ours: {WEIGHTED_DISTANCE_NAME}"] = _weighted_distance_predictor
    methods.update({f"peer: {c}": _peer_predictor(c) for c in peers})
    for name, fn in methods.items():
        p = cross_validate(table, predict=fn, n_folds=n_folds, repeats=repeats, seed=seed)
        preds[name] = p
        tables.append(score_predictions(table, p).assign(method=name))
    return preds, pd.concat(tables, ignore_index=True)


# ------------------------------------------------------------------ the shipped model
#: The term set shipped in ``verdict.json`` (chosen by :func:`evaluate_verdict_models`, see the README).
SHIPPED_TERMS: str = "distance / motion + coverage"
#: "uncertain" when p_same is within this of one half: closer to a coin flip than 55/45.
UNCERTAIN_HALF_WIDTH: float = 0.05
#: Peer methods measured on the same folds (columns of the calibration table).
PEERS: tuple[str, ...] = ("just_dance_2d", "pose_trainer_2d_angles", "world_angles_plain_dtw")


def build_calibration_table(*, progress: bool = False):
    """The whole calibration set: motion capture through synthetic cameras (``set`` "synthetic") and the
    samples' real pairs (``set`` "real footage"), one row per pair (see :mod:`lab.score.calibration_pairs`)."""
    import pandas as pd

    from lab.score.calibration_pairs import measure_calibration_pairs_cached, measure_sample_pairs

    synthetic = measure_calibration_pairs_cached(progress=progress).assign(set="synthetic", group="synthetic")
    real = measure_sample_pairs().assign(set="real footage")
    table = pd.concat([synthetic, real], ignore_index=True)
    return table[np.isfinite(table["distance"].to_numpy(float))].reset_index(drop=True)


def fit_shipped_model(table, *, repeats: int = 5, seed: int = 0):
    """Cross-validate the shipped term set (:data:`SHIPPED_TERMS`) and fit it on the whole table, with the
    uncertain band of :data:`UNCERTAIN_HALF_WIDTH`. Returns (model, out-of-fold p)."""
    terms = CANDIDATE_TERMS[SHIPPED_TERMS]
    oof = cross_validate(table, predict=_fast_logistic_predictor(terms), repeats=repeats, seed=seed)
    band = (0.5 - UNCERTAIN_HALF_WIDTH, 0.5 + UNCERTAIN_HALF_WIDTH)
    counts = table.groupby("set")["same"].agg(["sum", "count"])
    provenance = ("lab.score.verdict_fit: logistic regression of same/different on " + ", ".join(terms)
                  + f"; {len(table)} pairs (" + "; ".join(f"{s}: {int(r['sum'])} same, {int(r['count'] - r['sum'])}"
                                                           f" different" for s, r in counts.iterrows())
                  + "), each set weighed alike; cross-validated with folds by motion"
                  + ("; a pair whose travel is unknown gets the fallback on " + ", ".join(FALLBACK_TERMS)
                     if set(terms) - set(FALLBACK_TERMS) else ""))
    model = fit_verdict_model(table, terms=terms, uncertain_band=band, provenance=provenance,
                              fallback_terms=FALLBACK_TERMS)
    return model, oof


def write_verdict_file(model: VerdictModel, *, path: str | Path | None = None, figures: dict | None = None) -> Path:
    """Write ``verdict.json`` (the model, and the cross-validated ``figures`` it was shipped with)."""
    from lab.io import write_bytes_atomic

    out = model.to_dict() | ({"cross_validated": figures} if figures else {})
    target = Path(path or VERDICT_FILE)
    write_bytes_atomic(target, (json.dumps(out, indent=1) + "\n").encode())
    return target


def update_verdict_figures(figures: dict, *, path: str | Path | None = None) -> Path:
    """Replace the cross-validated ``figures`` of ``verdict.json``, leaving its model as it is."""
    from lab.io import write_bytes_atomic

    target = Path(path or VERDICT_FILE)
    doc = json.loads(target.read_text())
    doc["cross_validated"] = figures
    write_bytes_atomic(target, (json.dumps(doc, indent=1) + "\n").encode())
    return target


def _markdown(df, digits: int = 3) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(str(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    for r in df.itertuples(index=False):
        lines.append("| " + " | ".join(f"{v:.{digits}f}" if isinstance(v, float) else str(v) for v in r) + " |")
    return "\n".join(lines)


def _main(argv: list[str] | None = None) -> None:  # pragma: no cover - measurement script
    import argparse

    import pandas as pd

    ap = argparse.ArgumentParser(description="Build the calibration set, cross-validate, write verdict.json.")
    ap.add_argument("--no-write", action="store_true", help="print the tables only")
    ap.add_argument("--figures-only", action="store_true",
                    help="write only the cross-validated figures into verdict.json, keeping its model")
    args = ap.parse_args(argv)
    table = build_calibration_table(progress=True)
    synth = table["set"] == "synthetic"
    preds, scores = evaluate_verdict_models(table[synth].reset_index(drop=True), peers=PEERS)
    print("\n## Cross-validated per view gap (synthetic views of motion capture, folds by motion)\n")
    wide = scores.pivot_table(index=["method"], columns="gap_deg", values="auc", sort=False)
    print("AUC\n" + _markdown(wide.reset_index()))
    wide = scores.pivot_table(index=["method"], columns="gap_deg", values="accuracy", sort=False)
    print("\nverdict accuracy at p_same >= 0.5\n" + _markdown(wide.reset_index()))
    wide = scores.pivot_table(index=["method"], columns="gap_deg", values="ece", sort=False)
    print("\nexpected calibration error\n" + _markdown(wide.reset_index()))
    for what, label in (("balanced_accuracy", "verdict accuracy"), ("balanced_ece", "expected calibration error")):
        wide = scores.pivot_table(index=["method"], columns="gap_deg", values=what, sort=False)
        print(f"\n{label}, the classes weighed alike as in the fit\n" + _markdown(wide.reset_index()))
    ours = scores[scores["method"] == f"ours: {SHIPPED_TERMS}"]
    print("\nthe calibration error a perfectly calibrated model would exceed 5% of the time on these pairs "
          "(classes weighed alike)\n" + _markdown(ours[["gap_deg", "calibrated_ece_95"]]))
    synth_oof = preds[f"ours: {SHIPPED_TERMS}"]
    synth_table = table[synth].reset_index(drop=True)
    balanced_reliability = reliability_table(synth_oof, synth_table["same"].to_numpy(bool),
                                             weights=weigh_pairs(synth_table))
    print("\nreliability on the synthetic set, the classes weighed alike (shipped terms, out of fold)\n"
          + _markdown(balanced_reliability))
    if joint_distance_columns(table):
        weights, _ = fit_weighted_distance(table[synth].reset_index(drop=True))
        print("\nper-joint weights (mean 1) learnt on the whole synthetic set (not shipped)\n"
              + _markdown(pd.DataFrame(sorted(weights.items(), key=lambda kv: -kv[1]),
                                       columns=["feature", "weight"]), digits=2))
        _, predict = fit_weighted_distance(table)
        p_real = predict(table[~synth])
        cand = pd.DataFrame({"group": table[~synth]["group"].to_numpy(), "same": table[~synth]["same"].to_numpy(),
                             "verdict": np.where(np.abs(p_real - 0.5) < UNCERTAIN_HALF_WIDTH, "uncertain",
                                                 np.where(p_real >= 0.5, "same", "different"))})
        print("\nthe per-joint weighted distance on the samples' real pairs (fitted with them)\n"
              + _markdown(cand.value_counts().reset_index()))
    families = by_family(table[synth].reset_index(drop=True))
    n_families = families["reference_motion"].nunique()
    _, fam_scores = evaluate_verdict_models(families, peers=PEERS, n_folds=n_families, repeats=1)
    print(f"\n## Leaving one family of look-alikes out ({n_families} folds: "
          + ", ".join(sorted(families["reference_motion"].unique())) + ")\n")
    for what in ("auc", "accuracy", "ece"):
        wide = fam_scores.pivot_table(index=["method"], columns="gap_deg", values=what, sort=False)
        print(f"{what}\n" + _markdown(wide.reset_index()) + "\n")
    model, oof = fit_shipped_model(table)
    y = table["same"].to_numpy(bool)
    shipped = score_predictions(table.assign(gap_deg=table["gap_deg"].fillna(-1.0)), oof)
    low, high = model.uncertain_band
    decided = np.isfinite(oof) & ((oof < low) | (oof >= high))
    print(f"\nshipped ({SHIPPED_TERMS}), out of fold, all sets (gap -1 = real footage):\n" + _markdown(shipped))
    inside = np.isfinite(oof) & ~decided
    print(f"\nuncertain band [{low}, {high}): {np.mean(~decided[np.isfinite(oof)]):.1%} of pairs, right "
          f"{np.mean((oof[inside] >= 0.5) == y[inside]):.3f} of the time inside; accuracy of the others "
          f"{np.mean((oof[decided] >= 0.5) == y[decided]):.3f}")
    wide_low, wide_high = choose_uncertain_band(oof, y)
    wide = np.isfinite(oof) & ((oof < wide_low) | (oof >= wide_high))
    print(f"a band for 95% right decided verdicts would be [{wide_low}, {wide_high}): "
          f"{1 - wide[np.isfinite(oof)].mean():.1%} of pairs uncertain, the others right "
          f"{np.mean((oof[wide] >= 0.5) == y[wide]):.3f}")
    print("\nreliability (shipped, out of fold)\n" + _markdown(reliability_table(oof, y)))
    ext = table[synth].groupby("same")["extreme_speed"].mean()
    print(f"\nextreme tempo chosen: same {ext.get(True, np.nan):.1%}, different {ext.get(False, np.nan):.1%}")
    real = table[~synth]
    terms = table_terms(real)
    verdicts = pd.DataFrame({"group": real["group"].to_numpy(), "same": real["same"].to_numpy(),
                             "verdict": [model.verdict(model.p_same(t)) for t in terms]})
    print("\nshipped model on the samples' real pairs (fitted with them)\n"
          + _markdown(verdicts.value_counts().reset_index()))
    print("\n" + json.dumps(model.to_dict(), indent=1))
    if not args.no_write:
        figures = {"per_gap": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}
                               for r in scores.to_dict("records")],
                   "shipped_out_of_fold": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}
                                           for r in shipped.to_dict("records")],
                   "reliability": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}
                                   for r in reliability_table(oof, y).to_dict("records")],
                   "reliability_synthetic_balanced": [{k: (round(v, 4) if isinstance(v, float) else v)
                                                       for k, v in r.items()}
                                                      for r in balanced_reliability.to_dict("records")],
                   "uncertain_share": round(float(np.mean(~decided[np.isfinite(oof)])), 4),
                   "decided_accuracy": round(float(np.mean((oof[decided] >= 0.5) == y[decided])), 4),
                   "inside_band_accuracy": round(float(np.mean((oof[inside] >= 0.5) == y[inside])), 4),
                   "extreme_speed_share": {"same": round(float(ext.get(True, np.nan)), 4),
                                           "different": round(float(ext.get(False, np.nan)), 4)}}
        if args.figures_only:
            print(f"wrote {update_verdict_figures(figures)} (figures only; the model kept)")
        else:
            print(f"wrote {write_verdict_file(model, figures=figures)}")


if __name__ == "__main__":  # pragma: no cover
    _main()
