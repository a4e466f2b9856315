"""New homes start from the skeleton folder; existing files and links are never touched."""

import os

import pytest

from arenahub.spawner.homes import copy_skeleton

pytestmark = pytest.mark.unit


def test_the_skeleton_is_copied_with_private_modes(tmp_path):
    skel = tmp_path / "skel"
    (skel / "demo-job").mkdir(parents=True)
    (skel / "demo-job" / "train.py").write_text("print('hi')\n")
    (skel / "Start here.ipynb").write_text("{}")
    home = tmp_path / "home"
    home.mkdir()
    created = copy_skeleton(skel, home, None)
    assert (home / "demo-job" / "train.py").read_text() == "print('hi')\n"
    assert {p.name for p in created} == {"demo-job", "train.py", "Start here.ipynb"}
    assert (home / "Start here.ipynb").stat().st_mode & 0o077 == 0


def test_files_already_in_the_home_are_kept(tmp_path):
    skel = tmp_path / "skel"
    skel.mkdir()
    (skel / "notes.txt").write_text("skeleton")
    home = tmp_path / "home"
    home.mkdir()
    (home / "notes.txt").write_text("mine")
    assert copy_skeleton(skel, home, None) == []
    assert (home / "notes.txt").read_text() == "mine"


def test_links_in_the_skeleton_are_not_followed(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("hub secret")
    skel = tmp_path / "skel"
    skel.mkdir()
    os.symlink(secret, skel / "link.txt")
    home = tmp_path / "home"
    home.mkdir()
    copy_skeleton(skel, home, None)
    assert not (home / "link.txt").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another uid needs root")
def test_copies_belong_to_the_user(tmp_path):
    skel = tmp_path / "skel"
    (skel / "d").mkdir(parents=True)
    (skel / "d" / "f").write_text("x")
    home = tmp_path / "home"
    home.mkdir()
    copy_skeleton(skel, home, 234567)
    assert (home / "d").stat().st_uid == 234567 and (home / "d" / "f").stat().st_uid == 234567


def test_a_missing_skeleton_says_which_setting_to_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="home_skeleton"):
        copy_skeleton(tmp_path / "nope", tmp_path, None)
