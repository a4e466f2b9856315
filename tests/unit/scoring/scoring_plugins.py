"""Custom scoring functions the scoring tests name as entry points (module:function)."""


def closeness(predicted, expected):
    """1 when equal, 1/(1 + distance) otherwise, with a reason."""
    distance = abs(predicted - expected)
    return 1 / (1 + distance), f"off by {distance}"


def broken(predicted, expected):
    return 1 / 0


def out_of_range(predicted, expected):
    return 1.7


def share_scoring_half_or_more(results):
    """Custom aggregate: the share of samples scoring at least 0.5."""
    return sum(r.score >= 0.5 for r in results) / len(results)


def failing_aggregate(results):
    raise KeyError("bonus")
