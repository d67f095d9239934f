"""Figures the Python benchmarks print, computed one way for all of them."""


def percentile(values, p):
    """Nearest-rank percentile of `values` (p in 0..100); NaN when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]
