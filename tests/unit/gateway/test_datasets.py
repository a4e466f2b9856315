"""Tests of arenahub.gateway.datasets: the folder layout an admin may register."""

import pytest

from arenahub.core.errors import InvalidInput, UnprocessableInput
from arenahub.gateway.datasets import check_dataset_folder, check_dataset_name

pytestmark = pytest.mark.unit


def make_dataset(root, parts=("train", "test/inputs", "test/annotations")):
    for part in parts:
        (root / part).mkdir(parents=True)
    return root


def test_a_complete_folder_is_accepted(tmp_path):
    assert check_dataset_folder(str(make_dataset(tmp_path))) == tmp_path.resolve()


def test_a_folder_without_annotations_is_refused_naming_what_is_missing(tmp_path):
    with pytest.raises(InvalidInput, match=r"lacks test/annotations/"):
        check_dataset_folder(str(make_dataset(tmp_path, parts=("train", "test/inputs"))))


@pytest.mark.parametrize("path", ["relative/path", "/does/not/exist"])
def test_relative_or_missing_folders_are_refused(path):
    with pytest.raises(InvalidInput):
        check_dataset_folder(path)


@pytest.mark.parametrize("name, ok", [("faces-2026", True), ("a", True), ("Faces", False), ("../x", False), ("", False)])
def test_dataset_names_are_lowercase_words(name, ok):
    if ok:
        assert check_dataset_name(name) == name
    else:
        with pytest.raises(UnprocessableInput):
            check_dataset_name(name)
