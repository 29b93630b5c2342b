"""Small vectorised helpers over numpy arrays and frames (dicts of columns)."""

from __future__ import annotations

import numpy as np

Frame = dict[str, np.ndarray]


# --- small vectorised helpers ------------------------------------------------------------
def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _month_index(day: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of a day number (days since epoch)."""
    return np.asarray(day, dtype=np.int64).astype("datetime64[D]").astype("datetime64[M]").astype(
        np.int64)


def _month_first_day(month_index: np.ndarray) -> np.ndarray:
    return np.asarray(month_index, dtype=np.int64).astype("datetime64[M]").astype(
        "datetime64[D]").astype(np.int64)


def _shift_months(anchor_day: np.ndarray, months: np.ndarray) -> np.ndarray:
    """anchor + months calendar months, clamped to the month's last day (Jan 31 -> Feb 29).

    Periods are always computed from the anchor, never from the previous period, so an
    anchor on the 31st returns to the 31st after a short month (Stripe's behaviour).
    """
    month = _month_index(anchor_day)
    dom = np.asarray(anchor_day, dtype=np.int64) - _month_first_day(month)
    target = month + np.asarray(months, dtype=np.int64)
    first = _month_first_day(target)
    days_in_month = _month_first_day(target + 1) - first
    return first + np.minimum(dom, days_in_month - 1)


def _period_index(anchor_day: np.ndarray, interval: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Index k >= 0 of the period [anchor + k*interval, anchor + (k+1)*interval) holding day."""
    k = np.maximum((_month_index(day) - _month_index(anchor_day)) // interval, 0)
    return np.where(_shift_months(anchor_day, k * interval) > day, np.maximum(k - 1, 0), k)


def _ranks(counts: np.ndarray) -> np.ndarray:
    """0..count-1 for each group of np.repeat(x, counts)."""
    total = int(counts.sum())
    return np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)


def _group_cumsum(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at each new value of the (sorted) group array."""
    total = np.cumsum(values)
    starts = np.r_[True, group[1:] != group[:-1]]
    before = (total - values)[starts]
    return total - before[np.cumsum(starts) - 1]


def _choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a (n, k) probability matrix."""
    cum = np.cumsum(probs, axis=1)
    draws = (rng.random(len(probs))[:, None] > cum).sum(axis=1)
    return np.minimum(draws, probs.shape[1] - 1)


def _round_share(cents: np.ndarray, numerator: np.ndarray, denominator: int) -> np.ndarray:
    """cents x numerator / denominator rounded half up, in integers so totals are exact."""
    return (cents * numerator + denominator // 2) // denominator


def _take(frame: Frame, index: np.ndarray) -> Frame:
    return {key: values[index] for key, values in frame.items()}


def _concat(frames: list[Frame]) -> Frame:
    return {key: np.concatenate([frame[key] for frame in frames]) for key in frames[0]}


def _rng(seed: int, *stream: int) -> np.random.Generator:
    """An independent, reproducible stream per stage so stages can change independently."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=stream)))


