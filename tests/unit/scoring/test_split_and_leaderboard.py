"""The public/private split and the leaderboard's choice, ranking and reveal."""

import pytest

from arenahub.scoring import Entry, build_rows, choose_entry, sample_split, split_samples

pytestmark = pytest.mark.unit


def test_the_split_is_deterministic_and_close_to_the_fraction():
    ids = [f"{i:05d}" for i in range(10_000)]
    first = [sample_split(i, 7, 0.3) for i in ids]
    assert first == [sample_split(i, 7, 0.3) for i in ids]
    assert 0.28 < first.count("public") / len(ids) < 0.32
    assert first != [sample_split(i, 8, 0.3) for i in ids]


def test_a_sample_keeps_its_split_when_others_are_added():
    public, _ = split_samples([(f"{i}", i) for i in range(100)], 1, 0.5)
    more, _ = split_samples([(f"{i}", i) for i in range(200)], 1, 0.5)
    assert set(public) <= set(more)


@pytest.mark.parametrize("fraction, expected", [(1.0, "public"), (0.0, "private")])
def test_fractions_one_and_zero_put_everything_on_one_side(fraction, expected):
    assert {sample_split(str(i), 0, fraction) for i in range(50)} == {expected}


def entry(user, job, t, public, private=None, **extra):
    return Entry(user=user, job_id=job, submitted_at=t, code_sha256=f"sha-{job}",
                 public_score=public, private_score=private, **extra)


def test_each_participant_is_represented_by_their_best_public_submission_earliest_on_ties():
    mine = [entry("ada", "a1", 1, 0.5), entry("ada", "a2", 2, 0.8), entry("ada", "a3", 3, 0.8)]
    assert choose_entry(mine, descending=True).job_id == "a2"
    assert choose_entry(mine, descending=False).job_id == "a1"


def test_errors_count_as_submissions_but_are_never_chosen():
    rows = build_rows([entry("ada", "a1", 1, None, is_error=True), entry("ada", "a2", 2, 0.4)],
                      is_closed=False, descending=True, columns=["user", "score"])
    assert (rows[0]["submissions"], rows[0]["job_id"]) == (2, "a2")
    only_errors = build_rows([entry("bob", "b1", 1, None, is_error=True)], is_closed=False, descending=True,
                             columns=["user", "score"])
    assert (only_errors[0]["rank"], only_errors[0]["score"]) == (None, None)


def test_rows_are_ranked_with_shared_ranks_for_equal_scores():
    rows = build_rows([entry("ada", "a", 2, 0.9), entry("bob", "b", 1, 0.9), entry("cy", "c", 3, 0.5)],
                      is_closed=False, descending=True, columns=["user", "score"])
    assert [(r["user"], r["rank"]) for r in rows] == [("bob", 1), ("ada", 1), ("cy", 3)]
    assert rows[0]["last_submission"] == "1970-01-01T00:00:01Z"


def test_ascending_boards_rank_the_lowest_score_first():
    rows = build_rows([entry("ada", "a", 1, 0.2), entry("bob", "b", 1, 0.1)], is_closed=False,
                      descending=False, columns=["user", "score"])
    assert [r["user"] for r in rows] == ["bob", "ada"]


def test_private_scores_are_hidden_until_close_then_rank_the_board():
    entries = [entry("ada", "a", 1, 0.9, 0.1, public_metrics={"accuracy": 0.9}, private_metrics={"accuracy": 0.1}),
               entry("bob", "b", 1, 0.5, 0.6)]
    before = build_rows(entries, is_closed=False, descending=True, columns=["user", "score", "accuracy"])
    assert [r["user"] for r in before] == ["ada", "bob"]
    assert "private_score" not in before[0] and before[0]["accuracy"] == 0.9
    after = build_rows(entries, is_closed=True, descending=True, columns=["user", "score", "accuracy"])
    assert [(r["user"], r["score"]) for r in after] == [("bob", 0.6), ("ada", 0.1)]
    assert after[1]["accuracy"] == 0.1 and after[1]["public_score"] == 0.9
