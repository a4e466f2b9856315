"""decide_strictest: a job in a competition fits both its limits and the site's; the stricter refusal wins."""

import pytest

from arenahub.quota import ALLOWED, QuotaDecision, decide_strictest, scope_label

pytestmark = pytest.mark.unit

DAILY = QuotaDecision(False, "quota-submissions-daily", "You have made your 1 test submissions for today.", 429, 2000.0)
WEEKLY = QuotaDecision(False, "quota-gpu-hours", "You have used your GPU-hours.", 429, 9000.0)
TOTAL = QuotaDecision(False, "quota-submissions-total", "You have made all 3 test submissions.", 429, None)
CLOSED = QuotaDecision(False, "competition-closed", "The competition closed.", 403, None)


def test_everything_allowed_is_allowed():
    assert decide_strictest([("demo", ALLOWED), ("", ALLOWED)]) == ALLOWED


def test_a_single_refusal_wins_and_names_whose_limit_it_is():
    site = decide_strictest([("demo", ALLOWED), ("", WEEKLY)])
    competition = decide_strictest([("demo", DAILY), ("", ALLOWED)])
    assert (site.reason, site.limit, site.resets_at) == ("quota-gpu-hours", "site", 9000.0)
    assert site.message.endswith("(Site-wide limit.)")
    assert (competition.reason, competition.limit) == ("quota-submissions-daily", "competition demo")
    assert competition.message.endswith("(Limit of competition 'demo'.)")


def test_the_refusal_that_frees_up_last_wins_and_no_reset_counts_as_latest():
    assert decide_strictest([("demo", DAILY), ("", WEEKLY)]).reason == "quota-gpu-hours"
    assert decide_strictest([("demo", TOTAL), ("", WEEKLY)]).reason == "quota-submissions-total"


def test_a_closed_window_wins_over_any_quota():
    assert decide_strictest([("demo", CLOSED), ("", TOTAL)]).status == 403


def test_equal_refusals_name_the_competition():
    assert decide_strictest([("demo", DAILY), ("", DAILY)]).limit == "competition demo"


def test_scope_labels_read_as_the_owner():
    assert (scope_label("demo"), scope_label("")) == ("competition demo", "site")
