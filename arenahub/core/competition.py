"""The competition file's schema: one YAML per competition, checked against CompetitionSpec.

Pure definitions shared by the CLI, the gateway and the widget. The ``evaluation:`` section is
kept as plain data here and checked by ``arenahub.scoring`` (its template compiles route paths);
an inline ``log_policy:`` is checked by ``arenahub.logpolicy``. The field descriptions are the
organiser's manual (docs/competitions.md shows a full example).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from arenahub.core.quota_config import CompetitionWindow, QuotaConfig

COMPETITION_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
DATASET_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
LOG_POLICY_KINDS = ("open", "filtered", "whitelist")
NOTIFY_EVENTS = ("job_end", "job_failed", "low_quota", "score")
#: Leaderboard columns that exist for every competition (metric names of the template come on top).
BASE_COLUMNS = ("rank", "user", "score", "submissions", "last_submission")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetRef(_Strict):
    """A dataset the competition uses: registered in the gateway under ``name``.

    With ``path`` set, ``arenahub competition create`` registers the folder when no dataset of
    that name exists yet. The folder holds train/, test/inputs/ and test/annotations/.
    """

    name: str = Field(description="Registered dataset name: 1-63 lowercase letters, digits, '.', '_' or '-'.")
    path: str | None = Field(None, description="Absolute folder on the gateway's machine (registers it on create).")
    description: str = Field("", description="One line shown to participants.")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not DATASET_NAME.match(value):
            raise ValueError(
                f"{value!r} is not a dataset name: use 1-63 lowercase letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        return value

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError(f"{value!r} is relative; give the absolute folder on the gateway's machine")
        return value


class LeaderboardConfig(_Strict):
    """How scores become the leaderboard: the public/private split, the order and the columns."""

    public_fraction: float = Field(
        0.5, ge=0, le=1,
        description="Share of test samples scored on the public leaderboard during the competition; the "
        "rest form the private leaderboard, revealed when the competition closes. 1 shows everything.",
    )
    split_seed: int = Field(
        0, description="Seed of the public/private split; the same seed always gives the same split.",
    )
    sort: Literal["descending", "ascending"] = Field(
        "descending", description="descending: a higher score ranks first (accuracy, mAP); ascending: lower (error).",
    )
    columns: list[str] = Field(
        default_factory=lambda: list(BASE_COLUMNS),
        description=f"Columns shown, in order: any of {', '.join(BASE_COLUMNS)} and metric names of the "
        "template (mean, accuracy, precision, recall, f1, map, map_50, map_75, custom).",
    )

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a column is listed twice")
        if "user" not in value or "score" not in value:
            raise ValueError("columns must include user and score")
        return value

    @property
    def is_descending(self) -> bool:
        """True when a higher score ranks first."""
        return self.sort == "descending"


class NotificationConfig(_Strict):
    """What the platform tells participants about; each participant picks webhook or e-mail themselves."""

    events: list[Literal["job_end", "job_failed", "low_quota", "score"]] = Field(
        default_factory=lambda: list(NOTIFY_EVENTS),
        description=f"Events participants may subscribe to: any of {', '.join(NOTIFY_EVENTS)}.",
    )
    organiser_webhook: str | None = Field(
        None, description="URL that also gets every score and failure (empty: none).",
    )

    @field_validator("organiser_webhook")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http:// or https:// URL")
        return value


class CompetitionSpec(_Strict):
    """One competition: what it is, when it runs, its data, rules, scoring and leaderboard."""

    id: str = Field(description="Short name in URLs and the CLI: 1-63 lowercase letters, digits or '-'.")
    title: str = Field(min_length=1, max_length=200, description="Shown to participants.")
    description: str = Field("", description="Longer text (Markdown) shown on the competition page.")
    window: CompetitionWindow = Field(
        default_factory=CompetitionWindow, description="When submissions are accepted (opens_at, closes_at)."
    )
    datasets: list[DatasetRef] = Field(min_length=1, description="Datasets of the competition.")
    test_dataset: str | None = Field(
        None, description="Which of the datasets test jobs are scored on; default: the first one.",
    )
    log_policy: str | dict[str, Any] = Field(
        "filtered",
        description=f"The log policy every job line passes: a kind ({', '.join(LOG_POLICY_KINDS)}) or an "
        "inline policy mapping with 'policy: <kind>' and its settings (see docs/log-policy.md).",
    )
    quotas: QuotaConfig = Field(default_factory=QuotaConfig, description="Per-participant limits.")
    evaluation: dict[str, Any] = Field(
        description="The evaluation template: output_format, fields (route path + comparator), aggregate."
    )
    leaderboard: LeaderboardConfig = Field(default_factory=LeaderboardConfig)
    notifications: NotificationConfig = Field(default_factory=NotificationConfig)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not COMPETITION_ID.match(value):
            raise ValueError(
                f"{value!r} is not a competition id: use 1-63 lowercase letters, digits or '-', "
                "starting with a letter or digit"
            )
        return value

    @field_validator("log_policy")
    @classmethod
    def _policy(cls, value: str | dict[str, Any]) -> str | dict[str, Any]:
        kind = value.get("policy") if isinstance(value, dict) else value
        if kind not in LOG_POLICY_KINDS:
            shown = "missing" if kind is None else repr(kind)
            raise ValueError(f"policy kind is {shown}; valid: {', '.join(LOG_POLICY_KINDS)}")
        return value

    @model_validator(mode="after")
    def _datasets(self) -> CompetitionSpec:
        names = [d.name for d in self.datasets]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"datasets: {', '.join(twice)} listed twice")
        if self.test_dataset is not None and self.test_dataset not in names:
            raise ValueError(f"test_dataset {self.test_dataset!r} is not one of the datasets: {', '.join(names)}")
        return self

    @property
    def scored_dataset(self) -> str:
        """Name of the dataset whose test annotations score test jobs."""
        return self.test_dataset or self.datasets[0].name

    @property
    def log_policy_kind(self) -> str:
        """The log policy's kind (open, filtered or whitelist)."""
        return str(self.log_policy["policy"] if isinstance(self.log_policy, dict) else self.log_policy)

    def is_open_at(self, now: datetime) -> bool:
        """Whether the window accepts submissions at ``now`` (a timezone-aware time)."""
        opens, closes = self.window.opens_at, self.window.closes_at
        return (opens is None or now >= opens) and (closes is None or now < closes)
