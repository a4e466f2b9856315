import pytest

from arenahub.core.profiles import (
    DEFAULT_PROFILES,
    Profile,
    ProfileError,
    profile_from_dict,
    select_profile,
    validate_profiles,
)

pytestmark = pytest.mark.unit


def test_no_choice_means_the_default_profile():
    assert select_profile(None, DEFAULT_PROFILES).slug == "gpu-quarter"
    assert select_profile({"profile": ""}, DEFAULT_PROFILES).slug == "gpu-quarter"


@pytest.mark.parametrize("options, message", [
    ({"profile": "nope"}, "No profile 'nope'. Available: cpu, gpu-quarter, gpu-half, gpu-whole."),
    ({"profile": 1}, "'profile' must be a string slug, got int."),
    ({"x": 1}, "Unknown option(s) x; the only option is 'profile'."),
    (["gpu"], "user_options must be a JSON object"),
])
def test_bad_choices_are_refused_with_the_reason(options, message):
    with pytest.raises(ProfileError) as e:
        select_profile(options, DEFAULT_PROFILES)
    assert message in str(e.value)


@pytest.mark.parametrize("profiles, message", [
    ([], "at least one profile"),
    ([Profile("Bad Slug", "x")], "slug must be lower-case"),
    ([Profile("a", "x"), Profile("a", "y")], "slug is used twice"),
    ([Profile("a", "x", gpu_fraction=0.3)], "does not divide a GPU evenly"),
    ([Profile("a", "x", gpu_fraction=1.5)], "between 0 and 1"),
    ([Profile("a", "x", default=True), Profile("b", "y", default=True)], "more than one profile"),
])
def test_invalid_profile_lists_name_the_problem(profiles, message):
    with pytest.raises(ProfileError, match=message):
        validate_profiles(profiles)


def test_unknown_profile_keys_are_listed():
    with pytest.raises(ProfileError, match="unknown keys \\['gpus'\\]"):
        profile_from_dict({"slug": "a", "display_name": "A", "gpus": 2})


def test_notebook_servers_never_fetch_jupyter_news_or_check_for_updates(monkeypatch):
    from pathlib import Path

    from jupyterlab_server.settings_utils import _get_overrides

    import arenahub.spawner

    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(Path(arenahub.spawner.__file__).parent / "server_config"))
    overrides, _ = _get_overrides("/nonexistent")
    news = overrides["@jupyterlab/apputils-extension:notification"]
    assert news["fetchNews"] == "false" and news["checkForUpdates"] is False
