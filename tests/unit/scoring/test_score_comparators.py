import json
import math

import pytest
from lxml import etree

from arenahub.scoring.boxes import Box, iou, match_boxes, read_box
from arenahub.scoring.comparators import FieldOutcome, evaluate_field
from arenahub.scoring.routes import ExtractionError
from arenahub.scoring.template import build_template

pytestmark = pytest.mark.unit


def check(compare: dict, output, annotation, route: str = "v", **field) -> FieldOutcome:
    template = build_template({"fields": [{"name": "v", "output": route, "compare": compare, **field}]})
    out = json.loads(json.dumps(output))
    return evaluate_field(template.fields[0], template, out, json.loads(json.dumps(annotation)))


@pytest.mark.parametrize(
    "compare, output, truth, score",
    [
        ({"kind": "exact"}, "cat", "cat", 1.0),
        ({"kind": "exact"}, "Cat", "cat", 0.0),
        ({"kind": "exact", "case_sensitive": False}, "Cat", "cat", 1.0),
        ({"kind": "exact"}, " cat ", "cat", 1.0),  # spaces around text are ignored by default
        ({"kind": "exact", "strip": False}, " cat ", "cat", 0.0),
        ({"kind": "exact"}, 3, 3, 1.0),
        ({"kind": "exact"}, 3, "3", 0.0),  # no cast: a number is not a string
        ({"kind": "exact"}, [1, 2], [1, 2], 1.0),
        ({"kind": "exact"}, True, True, 1.0),
    ],
)
def test_exact_rule(compare, output, truth, score):
    assert check(compare, {"v": output}, {"v": truth}).score == score


def test_exact_rule_with_str_cast_compares_numbers_and_strings_as_text():
    assert check({"kind": "exact"}, {"v": 3}, {"v": "3"}, route="v@str").score == 1.0


@pytest.mark.parametrize(
    "tolerance, output, truth, right",
    [
        ({"abs_tol": 3}, 43, 40, True),  # "age within 3 years": the edge counts
        ({"abs_tol": 3}, 37, 40, True),
        ({"abs_tol": 3}, 43.001, 40, False),
        ({"abs_tol": 3}, 36.99, 40, False),
        ({"abs_tol": 0}, 40, 40, True),
        ({"abs_tol": 0}, 40.0000001, 40, False),
        ({"abs_tol": 0}, 0.1 + 0.2, 0.3, True),  # float noise is not a miss
        ({"rel_tol": 0.05}, 105, 100, True),
        ({"rel_tol": 0.05}, 105.01, 100, False),
        ({"rel_tol": 0.05}, -95, -100, True),
        ({"rel_tol": 0.1}, 0.0, 0.0, True),
        ({"abs_tol": 1, "rel_tol": 0.5}, 140, 100, True),  # whichever allows more
        ({"abs_tol": 1, "rel_tol": 0.001}, 100.9, 100, True),
        ({}, "41", 41, True),  # numeric strings are numbers for this rule
    ],
)
def test_numeric_rule_tolerance_edges(tolerance, output, truth, right):
    outcome = check({"kind": "numeric", **tolerance}, {"v": output}, {"v": truth})
    assert outcome.score == (1.0 if right else 0.0)
    assert (outcome.tp, outcome.fp, outcome.fn) == ((1, 0, 0) if right else (0, 1, 1))


@pytest.mark.parametrize(
    "output, reason",
    [
        ({"v": "forty"}, "'forty', expected a number"),
        ({"v": None}, "null, expected a number"),
        ({"v": True}, "a boolean, expected a number"),
        ({"v": "NaN"}, "expected a finite number"),
        ({"w": 40}, "no key 'v'"),
        ([40], "not an object"),
    ],
)
def test_numeric_rule_on_wrong_types_scores_zero_with_reason(output, reason):
    outcome = check({"kind": "numeric", "abs_tol": 3}, output, {"v": 40})
    assert outcome.score == 0.0 and reason in outcome.reason and outcome.fn == 1


def test_reasons_never_quote_the_annotation():
    outcome = check({"kind": "numeric", "abs_tol": 1}, {"v": 50}, {"v": 12345})
    assert "12345" not in outcome.reason
    assert "secret" not in check({"kind": "exact"}, {"v": "x"}, {"v": "secret"}).reason


@pytest.mark.parametrize(
    "output, truth, score, counts",
    [
        (["cat", "dog"], ["cat", "dog"], 1.0, (2, 0, 0)),
        (["dog", "cat"], ["cat", "dog"], 1.0, (2, 0, 0)),  # order does not matter
        (["cat"], ["cat", "dog"], 2 / 3, (1, 0, 1)),
        (["cat", "dog", "cow"], ["cat"], 0.5, (1, 2, 0)),
        (["cat", "cat"], ["cat"], 2 / 3, (1, 1, 0)),  # repeats count
        ([], [], 1.0, (0, 0, 0)),
        ([], ["cat"], 0.0, (0, 0, 1)),
        ("cat", ["cat"], 1.0, (1, 0, 0)),  # a single value is a one-element set
    ],
)
def test_set_f1_rule(output, truth, score, counts):
    outcome = check({"kind": "set_f1"}, {"v": output}, {"v": truth})
    assert math.isclose(outcome.score, score)
    assert (outcome.tp, outcome.fp, outcome.fn) == counts


def test_set_f1_over_a_wildcard_route():
    out = {"objs": [{"label": "Cat"}, {"label": "dog"}]}
    ann = {"objs": [{"label": "cat"}]}
    outcome = check({"kind": "set_f1", "case_sensitive": False}, out, ann, route="objs[*].label@str")
    assert (outcome.tp, outcome.fp, outcome.fn) == (1, 1, 0)


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ((0, 0, 10, 10), (0, 0, 10, 10), 1.0),
        ((0, 0, 10, 10), (5, 0, 15, 10), 50 / 150),
        ((0, 0, 10, 10), (10, 0, 20, 10), 0.0),  # touching edges do not overlap
        ((0, 0, 10, 10), (2, 2, 4, 4), 4 / 100),
        ((0, 0, 0, 0), (0, 0, 0, 0), 0.0),
    ],
)
def test_iou(a, b, expected):
    assert math.isclose(iou(Box(*a), Box(*b)), expected)


def test_optimal_matching_finds_more_pairs_than_greedy():
    # A overlaps X a lot and Y a little; B overlaps only X. Greedy pairs A-X and leaves B out.
    truth = [Box(0, 0, 10, 10), Box(4, 0, 14, 10)]
    predicted = [Box(1, 0, 11, 10), Box(-3, 0, 7, 10)]
    assert [p[:2] for p in match_boxes(predicted, truth, 0.5, "greedy")] == [(0, 0)]
    assert [p[:2] for p in match_boxes(predicted, truth, 0.5, "optimal")] == [(0, 1), (1, 0)]


def test_matching_is_one_to_one_and_respects_labels():
    truth = [Box(0, 0, 10, 10, label="cat")]
    predicted = [Box(0, 0, 10, 10, label="dog"), Box(0, 0, 10, 10, label="cat"), Box(0, 0, 10, 10, label="cat")]
    for matching in ("greedy", "optimal"):
        assert [p[:2] for p in match_boxes(predicted, truth, 0.5, matching)] == [(1, 0)]


BOXES = {"kind": "box_iou", "iou_threshold": 0.5, "box": "box", "label": "label@str"}


@pytest.mark.parametrize(
    "predicted, score, counts",
    [
        ([{"box": [0, 0, 10, 10], "label": "cat"}, {"box": [20, 20, 30, 30], "label": "dog"}], 1.0, (2, 0, 0)),
        ([{"box": [0, 0, 10, 10], "label": "cat"}], 2 / 3, (1, 0, 1)),  # a missed box
        ([{"box": [0, 0, 10, 10], "label": "cat"}, {"box": [20, 20, 30, 30], "label": "dog"},
          {"box": [50, 50, 60, 60], "label": "cat"}], 0.8, (2, 1, 0)),  # an unmatched prediction
        ([{"box": [0, 0, 10, 10], "label": "dog"}, {"box": [20, 20, 30, 30], "label": "cat"}], 0.0, (0, 2, 2)),
        ([{"box": [5, 0, 15, 10], "label": "cat"}, {"box": [20, 20, 30, 30], "label": "dog"}], 0.5, (1, 1, 1)),
        ([], 0.0, (0, 0, 2)),
    ],
)
def test_box_rule_scores_the_f1_of_matches(predicted, score, counts):
    truth = [{"box": [0, 0, 10, 10], "label": "cat"}, {"box": [20, 20, 30, 30], "label": "dog"}]
    outcome = check(BOXES, {"objects": predicted}, {"objects": truth}, route="objects[*]")
    assert math.isclose(outcome.score, score)
    assert (outcome.tp, outcome.fp, outcome.fn) == counts


def test_box_iou_threshold_edge_is_inclusive():
    rule = {"kind": "box_iou", "iou_threshold": 0.5}  # IoU of these two is exactly 0.5
    outcome = check(rule, {"b": [[0, 0, 10, 10]]}, {"b": [[0, 0, 10, 5]]}, route="b")
    assert outcome.tp == 1


def test_box_rule_reads_xywh_and_named_fields():
    rule = {"kind": "box_iou", "box_format": "xywh"}
    out = {"b": [[0, 0, 10, 10], {"x": 20, "y": 20, "w": 10, "h": 10}, {"xmin": 40, "ymin": 0, "xmax": 50, "ymax": 5}]}
    ann = {"b": [[0, 0, 10, 10], [20, 20, 10, 10], [40, 0, 10, 5]]}
    assert check(rule, out, ann, route="b").score == 1.0


@pytest.mark.parametrize(
    "bad_box, reason",
    [
        ([0, 0, 10], "is not a box"),
        ([0, 0, "ten", 10], "'ten', not a number"),
        ([10, 0, 0, 10], "negative width or height"),
        ({"left": 0}, "has no box fields"),
    ],
)
def test_malformed_box_in_the_output_scores_the_field_zero(bad_box, reason):
    outcome = check(BOXES, {"objects": [{"box": bad_box, "label": "cat"}]},
                    {"objects": [{"box": [0, 0, 10, 10], "label": "cat"}]}, route="objects[*]")
    assert outcome.score == 0.0 and reason in outcome.reason and outcome.fn == 1


def test_read_box_from_a_pascal_voc_element():
    element = etree.fromstring(b"<bndbox><xmin>1</xmin><ymin>2</ymin><xmax>3</xmax><ymax>5</ymax></bndbox>")
    assert read_box(element, "xyxy", "box") == (1.0, 2.0, 3.0, 5.0)
    with pytest.raises(ExtractionError):
        read_box(etree.fromstring(b"<bndbox><xmin>1</xmin></bndbox>"), "xyxy", "box")


@pytest.mark.parametrize(
    "entry_point, output, score, reason",
    [
        ("operator:eq", 3, 1.0, ""),
        ("operator:eq", 4, 0.0, "v: scored 0"),
        ("scoring_plugins:closeness", 4, 0.5, "v: off by 1"),
        ("scoring_plugins:broken", 3, 0.0, "custom rule raised ZeroDivisionError"),
        ("scoring_plugins:out_of_range", 3, 0.0, "must return a number in [0, 1]"),
    ],
)
def test_custom_rule(entry_point, output, score, reason):
    outcome = check({"kind": "custom", "entry_point": entry_point}, {"v": output}, {"v": 3})
    assert outcome.score == score
    assert reason in outcome.reason
