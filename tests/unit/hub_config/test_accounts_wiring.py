import pytest
from traitlets.config import Config

from arenahub.hub_config.settings import HubSettings
from arenahub.hub_config.wiring import configure

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("name", ["accounts", "native"])
def test_accounts_and_its_old_name_native_wire_the_arena_authenticator(tmp_path, name):
    settings = HubSettings(data_dir=tmp_path, authenticator=name, open_signup=True,
                           seed_users={"demo": "demo-pass-12"}, gpus=[])
    assert settings.authenticator == "accounts"
    c = Config()
    configure(c, settings)
    assert c.JupyterHub.authenticator_class == "arenahub.hub_config.accounts.ArenaAuthenticator"
    assert c.ArenaAuthenticator.open_signup is True
    assert c.ArenaAuthenticator.seed_users == {"demo": "demo-pass-12"}


def test_unknown_authenticators_are_refused_with_the_valid_names(tmp_path):
    with pytest.raises(ValueError, match="'accounts', 'native' or 'dummy'"):
        HubSettings(data_dir=tmp_path, authenticator="pam")
