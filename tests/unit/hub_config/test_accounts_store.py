from datetime import UTC, datetime, timedelta

import pytest

from arenahub.hub_config.accounts.passwords import check_password, hash_password
from arenahub.hub_config.accounts.store import (
    AccountExists,
    AccountNotFound,
    AccountStore,
    make_engine_url,
)

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path):
    accounts = AccountStore(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    accounts.ensure_schema()
    accounts.ensure_schema()  # safe to repeat
    yield accounts
    accounts.dispose()


def test_a_new_account_waits_for_approval_and_keeps_its_times_in_utc(store):
    created = store.create("alice", "hash", now=NOW, approved_by=None)
    found = store.find("alice")
    assert found == created
    assert (found.is_approved, found.approved_at, found.approved_by) == (False, None, None)
    assert found.created_at == NOW and found.created_at.tzinfo is UTC


def test_taken_names_are_refused(store):
    store.create("alice", "hash", now=NOW, approved_by=None)
    with pytest.raises(AccountExists, match="'alice' is taken"):
        store.create("alice", "other", now=NOW, approved_by="signup")


def test_approval_records_who_and_when_and_revoking_clears_it(store):
    store.create("bob", "hash", now=NOW, approved_by=None)
    later = NOW + timedelta(hours=1)
    approved = store.approve("bob", by="admin", now=later)
    assert (approved.is_approved, approved.approved_by, approved.approved_at) == (True, "admin", later)
    revoked = store.revoke("bob")
    assert (revoked.is_approved, revoked.approved_by) == (False, None)


def test_changes_to_missing_accounts_say_so(store):
    with pytest.raises(AccountNotFound, match="no account named 'ghost'"):
        store.approve("ghost", by="admin", now=NOW)
    assert store.delete("ghost") is False


def test_pending_accounts_are_listed_first(store):
    store.create("zed", "h", now=NOW, approved_by="signup")
    store.create("amy", "h", now=NOW + timedelta(seconds=1), approved_by=None)
    assert [a.username for a in store.list_accounts()] == ["amy", "zed"]


def test_five_recorded_failures_lock_and_a_sign_in_or_unlock_clears(store):
    store.create("carol", "h", now=NOW, approved_by="signup")
    def fail():
        return store.record_failed_sign_in("carol", now=NOW, lockout_attempts=5, lockout_s=600)

    for _ in range(4):
        assert fail().locked_until is None
    lockout = fail()
    assert store.find("carol").locked_until == lockout.locked_until == NOW + timedelta(seconds=600)
    store.unlock("carol")
    assert store.find("carol").locked_until is None
    fail()
    store.record_sign_in("carol")
    assert store.find("carol").failed_attempts == 0


def test_deleting_frees_the_name(store):
    store.create("dave", "h", now=NOW, approved_by=None)
    assert store.delete("dave") is True
    assert store.find("dave") is None
    store.create("dave", "h2", now=NOW, approved_by=None)


def test_an_in_memory_database_keeps_its_table_across_connections():
    accounts = AccountStore("sqlite://")
    accounts.ensure_schema()
    accounts.create("erin", "h", now=NOW, approved_by=None)
    assert accounts.find("erin") is not None
    accounts.dispose()


@pytest.mark.parametrize("url, driver", [
    ("postgresql://u:p@db/hub", "postgresql+psycopg"),
    ("postgres://u:p@db/hub", "postgresql+psycopg"),
    ("postgresql+psycopg://u:p@db/hub", "postgresql+psycopg"),
    ("sqlite:///x.sqlite", "sqlite"),
])
def test_postgresql_urls_without_a_driver_use_psycopg_3(url, driver):
    assert make_engine_url(url).drivername == driver


def test_passwords_are_stored_as_bcrypt_hashes_that_check():
    stored = hash_password("correct horse", rounds=4)
    assert stored.startswith("$2b$04$") and "correct" not in stored
    assert check_password("correct horse", stored)
    assert not check_password("correct horsE", stored)
    assert not check_password("correct horse", "not a hash")
    assert not check_password("x" * 100, stored)
    with pytest.raises(ValueError, match="72 bytes"):
        hash_password("x" * 73, rounds=4)
