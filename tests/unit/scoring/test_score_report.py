import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arenahub.scoring import DEMO_TEMPLATE, ScoringError, build_template, load_template_text, score

pytestmark = pytest.mark.unit


def js(value) -> bytes:
    return json.dumps(value).encode()


DEMO = load_template_text(DEMO_TEMPLATE.read_text())
CAT3 = js({"label": "cat", "count": 3})


@pytest.mark.parametrize(
    "output, sample_score, reason",
    [
        (js({"label": "cat", "count": 3}), 1.0, "ok"),
        (js({"label": "CAT", "count": 3.0}), 1.0, "ok"),
        (js({"label": "cat", "count": "3"}), 1.0, "ok"),
        (js({"label": "dog", "count": 3}), 0.5, "label: output 'dog' does not match"),
        (js({"label": "cat", "count": 4}), 0.5, "count: output 4 is outside the tolerance"),
        (js({"label": "cat"}), 0.5, "count: no key 'count' in the top level"),
        (js({"label": ["cat"], "count": 3}), 0.5, "label is a list, expected text"),
        (js({"label": "cat", "count": None}), 0.5, "count is null, expected a number"),
        (js(["cat", 3]), 0.0, "not an object"),
        (js("cat"), 0.0, "not an object"),
        (None, 0.0, "no output file for this sample"),
        (b"", 0.0, "output is not valid JSON"),
        (b'{"label": "cat", "count": 3', 0.0, "output is not valid JSON"),
        (b"\xff\xfe\x00garbage", 0.0, "output is not valid JSON"),
        (b"[" * 100_000, 0.0, "output is not valid JSON"),
    ],
)
def test_demo_template_scores_each_sample_with_a_reason(output, sample_score, reason):
    report = score(DEMO, [("s1", output, CAT3)])
    result = report.per_sample[0]
    assert result.sample_id == "s1"
    assert result.score == sample_score
    assert reason in result.reason


def test_demo_template_aggregates_the_mean_and_counts_problems():
    samples = [
        ("a", js({"label": "cat", "count": 3}), CAT3),
        ("b", js({"label": "dog", "count": 3}), CAT3),
        ("c", None, CAT3),
        ("d", b"not json", CAT3),
    ]
    report = score(DEMO, samples)
    assert report.score == pytest.approx((1 + 0.5 + 0 + 0) / 4)
    assert report.metrics["accuracy"] == 0.25
    assert report.metrics["samples"] == 4
    assert report.metrics["missing_outputs"] == 1 and report.metrics["invalid_outputs"] == 1
    assert report.per_sample[1].fields == {"label": 0.0, "count": 1.0}


def test_output_over_the_size_limit_scores_zero():
    template = build_template({"fields": [{"name": "v", "output": "v", "compare": {"kind": "exact"}}],
                               "max_output_bytes": 100})
    report = score(template, [("big", js({"v": "x" * 200}), js({"v": "x"}))])
    assert report.score == 0 and "the limit is 100" in report.per_sample[0].reason


def test_unreadable_annotation_scores_zero_and_is_counted_for_the_organiser():
    report = score(DEMO, [("a", CAT3, b"{broken"), ("b", CAT3, js({"label": "cat"}))])
    assert [r.score for r in report.per_sample] == [0.0, 0.5]
    assert "annotation is not valid JSON" in report.per_sample[0].reason
    assert "count: annotation: no key 'count'" in report.per_sample[1].reason
    assert report.metrics["annotation_errors"] == 2


def test_empty_run_scores_zero_without_dividing_by_zero():
    report = score(DEMO, [])
    assert report.score == 0.0 and report.per_sample == []


AGE_TEMPLATE = {
    "fields": [
        {"name": "age", "output": "people[0].age@num", "compare": {"kind": "numeric", "abs_tol": 3}},
        {"name": "tags", "output": "people[0].tags[*]@str", "compare": {"kind": "set_f1"}, "weight": 3},
    ]
}


@pytest.mark.parametrize(
    "aggregate, expected",
    [
        # sample 1: age right, tags 1 right 1 extra -> f1 2/3; sample 2: age wrong, tags right
        ("mean", ((1 + 3 * 2 / 3) / 4 + (0 + 3 * 1) / 4) / 2),
        ("accuracy", 0.0),
        # micro counts: tp = 1 + 1 (s1) + 0 + 2 (s2) = 4, fp = 1 (s1) + 1 (s2 age), fn = 1 (s2 age)
        ("precision", 4 / 6),
        ("recall", 4 / 5),
        ("f1", 8 / 11),
    ],
)
def test_aggregates_over_hand_made_json_samples(aggregate, expected):
    template = build_template({**AGE_TEMPLATE, "aggregate": {"kind": aggregate}})
    samples = [
        ("s1", js({"people": [{"age": 43, "tags": ["a", "b"]}]}), js({"people": [{"age": 40, "tags": ["a"]}]})),
        ("s2", js({"people": [{"age": 44, "tags": ["x", "y"]}]}), js({"people": [{"age": 40, "tags": ["y", "x"]}]})),
    ]
    report = score(template, samples)
    assert math.isclose(report.score, expected)
    assert math.isclose(report.metrics[aggregate], expected)


XML_TEMPLATE = {
    "output_format": "xml",
    "fields": [
        {"name": "age", "output": "//person[1]/age@num", "compare": {"kind": "numeric", "abs_tol": 3}},
        {"name": "name", "output": "//person[1]/@name@str", "compare": {"kind": "exact"}},
        {"name": "objects", "output": "//object",
         "compare": {"kind": "box_iou", "box": "bndbox", "label": "name@str", "iou_threshold": 0.5}},
    ],
    "aggregate": {"kind": "mean"},
}
XML_TRUTH = b"""<annotation><person name="ann"><age>40</age></person>
<object><name>cat</name><bndbox><xmin>0</xmin><ymin>0</ymin><xmax>10</xmax><ymax>10</ymax></bndbox></object>
</annotation>"""


@pytest.mark.parametrize(
    "output, sample_score, reason",
    [
        (XML_TRUTH, 1.0, "ok"),
        (XML_TRUTH.replace(b"<age>40", b"<age>43"), 1.0, "ok"),
        (XML_TRUTH.replace(b"<age>40", b"<age>44"), 2 / 3, "age: output 44 is outside"),
        (XML_TRUTH.replace(b"<age>40", b"<age>old"), 2 / 3, "'old', expected a number"),
        (XML_TRUTH.replace(b"<age>40</age>", b""), 2 / 3, "found nothing"),
        (XML_TRUTH.replace(b"<xmax>10", b"<xmax>30"), 2 / 3, "0 boxes matched"),
        (XML_TRUTH.replace(b"</annotation>", b""), 0.0, "output is not valid XML"),
        (b"", 0.0, "output is not valid XML"),
    ],
)
def test_xml_outputs_score_through_xpath_routes(output, sample_score, reason):
    report = score(build_template(XML_TEMPLATE), [("x", output, XML_TRUTH)])
    assert math.isclose(report.per_sample[0].score, sample_score)
    assert reason in report.per_sample[0].reason


def test_xml_output_with_an_external_entity_reads_no_file(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("40")
    output = (f'<!DOCTYPE a [<!ENTITY s SYSTEM "file://{secret}">]>'
              "<annotation><person name=\"ann\"><age>&s;</age></person></annotation>").encode()
    report = score(build_template(XML_TEMPLATE), [("x", output, XML_TRUTH)])
    assert report.per_sample[0].fields["age"] == 0.0


@pytest.mark.parametrize("where", ['<person name="&j;"><age>40</age>', '<person name="ann"><age>40</age>&j;'])
def test_xml_billion_laughs_is_refused_not_expanded(where):
    lol = b'<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">' + b"".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(9)
    ) + f"]><annotation>{where}</person></annotation>".encode()
    result = score(build_template(XML_TEMPLATE), [("x", lol, XML_TRUTH)]).per_sample[0]
    # Either libxml2 refuses the amplification or the entity stays unexpanded; never 10^10 bytes.
    assert result.score < 1.0
    assert "not valid XML" in result.reason or result.fields["age"] == 1.0


def test_custom_aggregate_gets_the_per_sample_results():
    template = build_template({**AGE_TEMPLATE, "aggregate": {
        "kind": "custom", "entry_point": "scoring_plugins:share_scoring_half_or_more"}})
    good = js({"people": [{"age": 40, "tags": ["a"]}]})
    report = score(template, [("a", good, good), ("b", None, good), ("c", good, good)])
    assert report.score == pytest.approx(2 / 3) and report.metrics["custom"] == pytest.approx(2 / 3)


def test_failing_custom_aggregate_names_the_organisers_function():
    template = build_template({**AGE_TEMPLATE, "aggregate": {
        "kind": "custom", "entry_point": "scoring_plugins:failing_aggregate"}})
    with pytest.raises(ScoringError, match="scoring_plugins:failing_aggregate failed with KeyError"):
        score(template, [("a", None, js({"people": [{"age": 1, "tags": []}]}))])


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.none(), st.binary(max_size=200),
                 st.recursive(st.none() | st.booleans() | st.floats() | st.text(max_size=5),
                              lambda kids: st.lists(kids, max_size=3) | st.dictionaries(
                                  st.sampled_from(["people", "age", "tags", "label", "count", "x"]), kids, max_size=3),
                              max_leaves=10).map(lambda v: json.dumps(v).encode())))
def test_any_output_bytes_score_between_zero_and_one_without_raising(output):
    for template in (DEMO, build_template(AGE_TEMPLATE), build_template(XML_TEMPLATE)):
        truth = XML_TRUTH if template.output_format == "xml" else (
            CAT3 if template is DEMO else js({"people": [{"age": 4, "tags": ["a"]}]}))
        report = score(template, [("s", output, truth)])
        assert 0.0 <= report.per_sample[0].score <= 1.0
        assert report.per_sample[0].reason
