import pytest

from arenahub.scoring import DEMO_TEMPLATE, TemplateError, build_template, load_template_text
from arenahub.scoring.routes import JsonRoute, XPathRoute

pytestmark = pytest.mark.unit

EXACT = {"kind": "exact"}
BOX = {"kind": "box_iou"}


def field(name="v", output="v", compare=EXACT, **extra):
    return {"name": name, "output": output, "compare": compare, **extra}


def test_demo_template_loads_with_two_fields_and_a_mean():
    template = load_template_text(DEMO_TEMPLATE.read_text())
    assert [f.name for f in template.fields] == ["label", "count"]
    assert template.aggregate.kind == "mean" and template.output_format == "json"


@pytest.mark.parametrize(
    "data, problem",
    [
        ({"fields": [field(output="people[0.age")]}, "evaluation.fields[0].output: Bad route path 'people[0.age' at column 7"),
        ({"fields": [field(output="age@years")]}, "evaluation.fields[0].output: Bad route path 'age@years' at column 4: unknown cast"),
        ({"fields": [field(annotation="a..b")]}, "evaluation.fields[0].annotation: Bad route path"),
        ({"output_format": "xml", "fields": [field(output="//a[")]}, "evaluation.fields[0].output: Bad XPath route"),
        ({"fields": [field(compare={"kind": "fuzzy"})]}, "evaluation.fields[0].compare: Input tag 'fuzzy'"),
        ({"fields": [field(compare={"kind": "fuzzy"})]}, "'exact', 'numeric', 'set_f1', 'box_iou', 'custom'"),
        ({"fields": [field(compare={"kind": "numeric", "abs_tol": -1})]}, "evaluation.fields[0].compare.abs_tol: Input should be greater than or equal to 0"),
        ({"fields": [field(compare={"kind": "numeric", "abs_tolerance": 3})]}, "evaluation.fields[0].compare.abs_tolerance: Extra inputs are not permitted"),
        ({"fields": [field(compare={**BOX, "iou_threshold": 1.5})]}, "evaluation.fields[0].compare.iou_threshold"),
        ({"fields": [field(compare={**BOX, "box": "b[x]"})]}, "evaluation.fields[0].compare.box: Bad route path"),
        ({"fields": [field(), field()]}, "evaluation.fields[1].name: 'v' is used twice"),
        ({"fields": []}, "evaluation.fields: List should have at least 1 item"),
        ({}, "evaluation.fields: Field required"),
        ({"fields": [field()], "aggregate": {"kind": "map"}}, "evaluation.aggregate.field: name the box_iou field to compute mAP on; box_iou fields: (none)"),
        ({"fields": [field("a", compare=BOX), field("b", compare=BOX)], "aggregate": {"kind": "map"}}, "box_iou fields: a, b"),
        ({"fields": [field("a", compare=BOX)], "aggregate": {"kind": "map", "field": "z"}}, "'z' is not a box_iou field"),
        ({"fields": [field()], "aggregate": {"kind": "custom"}}, "evaluation.aggregate.entry_point: required when kind is custom"),
        ({"fields": [field()], "aggregate": {"kind": "median"}}, "evaluation.aggregate.kind: Input should be 'accuracy', 'mean'"),
        ({"fields": [field(compare={"kind": "custom", "entry_point": "operator.eq"})]}, "should look like package.module:function"),
        ({"fields": [field(compare={"kind": "custom", "entry_point": "no_such_module_xyz:f"})]}, "cannot import 'no_such_module_xyz'"),
        ({"fields": [field(compare={"kind": "custom", "entry_point": "operator:nothing"})]}, "module 'operator' has no 'nothing'"),
        ({"fields": [field(compare={"kind": "custom", "entry_point": "math:pi"})]}, "'math:pi' is not a function"),
    ],
)
def test_template_problems_are_reported_with_their_path(data, problem):
    with pytest.raises(TemplateError) as err:
        build_template(data)
    assert problem in str(err.value)


def test_all_problems_are_reported_at_once():
    data = {"fields": [field(output="a[0"), field(name="w", output="b@nope", compare={"kind": "numeric", "rel_tol": -1})]}
    with pytest.raises(TemplateError) as err:
        build_template(data)
    message = str(err.value)
    assert "fields[0].output" in message and "fields[1].output" in message and "fields[1].compare.rel_tol" in message


@pytest.mark.parametrize("text, problem", [("fields: [", "not valid YAML"), ("- a\n- b", "should be a mapping")])
def test_template_text_that_is_not_a_yaml_mapping_is_refused(text, problem):
    with pytest.raises(TemplateError, match=problem):
        load_template_text(text)


def test_output_and_annotation_routes_compile_for_their_own_formats():
    template = build_template({
        "output_format": "json", "annotation_format": "xml",
        "fields": [field(output="people[0].age@num", annotation="//person[1]/age@num")],
    })
    assert isinstance(template.route("people[0].age@num", "json"), JsonRoute)
    assert isinstance(template.route("//person[1]/age@num", "xml"), XPathRoute)


def test_prefix_names_where_the_section_lives():
    with pytest.raises(TemplateError, match=r"competitions/demo.yaml:evaluation.fields\[0\].output"):
        build_template({"fields": [field(output="[")]}, prefix="competitions/demo.yaml:evaluation")
