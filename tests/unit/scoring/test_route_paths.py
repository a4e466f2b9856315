import json

import pytest
from lxml import etree

from arenahub.scoring.routes import (
    ExtractionError,
    RoutePathError,
    compile_json_route,
    compile_xpath_route,
    extract_many,
    extract_one,
)

pytestmark = pytest.mark.unit

DOC = json.loads("""{
  "people": [{"age": 41, "name": " Ann ", "tags": ["a", "b"]}, {"age": "37", "name": "Bob"}],
  "objects": [{"box": [0, 0, 10, 10], "label": "cat"}, {"box": [5, 5, 9, 9], "label": "dog"}],
  "meta": {"camera": {"id": 7, "ok": true}, "odd.key": "x", "e@mail": "m"},
  "count": 3, "nothing": null, "flag": "yes"
}""")


@pytest.mark.parametrize(
    "route, expected",
    [
        ("people[0].age@num", 41.0),
        ("people[1].age@num", 37.0),  # numeric strings cast to numbers
        ("people[-1].name", "Bob"),
        ("people[0].name@str", " Ann "),
        ("meta.camera.id", 7),
        ("$.meta.camera.id@str", "7"),
        ("meta.camera.ok@bool", True),
        ("flag@bool", True),
        ('meta["odd.key"]', "x"),
        ("meta['e@mail']", "m"),
        ("count@str", "3"),
        ("people[0].tags[1]", "b"),
        ("$", DOC),
    ],
)
def test_json_route_extracts_one_value(route, expected):
    assert extract_one(DOC, compile_json_route(route)) == expected


@pytest.mark.parametrize(
    "route, expected",
    [
        ("objects[*].label", ["cat", "dog"]),
        ("objects[*].box", [[0, 0, 10, 10], [5, 5, 9, 9]]),
        ("people[*].age@num", [41.0, 37.0]),
        ("people[0].tags", ["a", "b"]),  # a route without [*] landing on a list yields its items
        ("objects[*].box[0]", [0, 5]),
    ],
)
def test_json_route_with_wildcard_extracts_a_list(route, expected):
    assert extract_many(DOC, compile_json_route(route)) == expected


@pytest.mark.parametrize(
    "route, message",
    [
        ("people[0].height", "no key 'height' in people[0]"),
        ("people[5].age", "people has 2 elements; there is no [5]"),
        ("count[0]", "count is a number, not a list"),
        ("count.value", "count is a number, not an object with key 'value'"),
        ("meta[*]", "meta is an object, not a list"),
        ("people[0].name@num", "is ' Ann ', expected a number"),
        ("nothing@num", "is null, expected a number"),
        ("meta.camera.ok@num", "is a boolean, expected a number"),
        ("people[0].name@bool", "expected true or false"),
        ("objects@str", "is a list, expected text"),
        ("people[*].name", "should point at one value but found 2 values"),
    ],
)
def test_json_route_on_missing_or_wrong_value_raises_a_readable_error(route, message):
    with pytest.raises(ExtractionError, match=message.replace("[", r"\[").replace("]", r"\]")):
        extract_one(DOC, compile_json_route(route))


@pytest.mark.parametrize(
    "route, column, message",
    [
        ("people[0.age@num", 7, "never closed"),
        ("people[x].age", 7, "not an index, [*] or a quoted key"),
        ("people..age", 7, "expected a key after '.'"),
        ("people.", 7, "expected a key after '.'"),
        ("age@number", 4, "unknown cast '@number'"),
        ("people[0]age", 10, "separate keys with '.'"),
        ("", 1, "the path is empty"),
    ],
)
def test_bad_json_route_names_the_column_and_shows_examples(route, column, message):
    with pytest.raises(RoutePathError) as err:
        compile_json_route(route)
    assert f"column {column}" in str(err.value) and message in str(err.value)
    assert "people[0].age@num" in str(err.value)


XML = etree.fromstring(b"""<annotation>
  <person id="1"><age>41</age><name>Ann</name></person>
  <person id="2"><age>thirty</age><name>Bob</name></person>
  <object score="0.9"><name>cat</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>3</xmax><ymax>4</ymax></bndbox></object>
  <ok>true</ok>
</annotation>""")


@pytest.mark.parametrize(
    "route, expected",
    [
        ("//person[1]/age@num", 41.0),
        ("/annotation/person[2]/name", "Bob"),
        ("//person[2]/@id@num", 2.0),  # an attribute, then a cast
        ("//object/@score@num", 0.9),
        ("//object/name/text()@str", "cat"),
        ("count(//person)", 2.0),
        ("//ok@bool", True),
    ],
)
def test_xpath_route_extracts_one_value(route, expected):
    assert extract_one(XML, compile_xpath_route(route)) == expected


def test_xpath_route_selects_lists_and_keeps_attributes_named_like_casts():
    assert extract_many(XML, compile_xpath_route("//person/name")) == ["Ann", "Bob"]
    doc = etree.fromstring(b'<a><b num="5"/></a>')
    assert extract_one(doc, compile_xpath_route("//b/@num")) == "5"  # '/@num' is an attribute


@pytest.mark.parametrize(
    "route, message",
    [
        ("//person/age@num", "should point at one value but found 2 values"),
        ("//person[3]/age", "found nothing"),
        ("//person[2]/age@num", "'thirty', expected a number"),
    ],
)
def test_xpath_route_on_missing_or_wrong_value_raises(route, message):
    with pytest.raises(ExtractionError, match=message):
        extract_one(XML, compile_xpath_route(route))


@pytest.mark.parametrize("route", ["//person[", "1 +", "//a/b)", ""])
def test_bad_xpath_route_is_refused_at_compile_time(route):
    with pytest.raises(RoutePathError, match="Bad XPath route"):
        compile_xpath_route(route)
