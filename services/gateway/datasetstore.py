"""Loading and saving registered datasets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from arenahub.core.errors import Conflict, InvalidInput
from arenahub.gateway.audit import save_audit_event
from arenahub.gateway.models import Dataset


def save_new_dataset(session: Session, dataset: Dataset) -> Dataset:
    """Register a dataset; raises Conflict when the name is taken."""
    if session.get(Dataset, dataset.name) is not None:
        raise Conflict(
            f"A dataset called {dataset.name!r} is already registered; pick another name.",
            reason="dataset-exists",
        )
    session.add(dataset)
    session.flush()
    save_audit_event(session, kind="admin", actor=dataset.registered_by, subject=dataset.name,
                     now=dataset.registered_at, message=f"registered dataset {dataset.name}", detail={"path": dataset.path})
    return dataset


def load_datasets(session: Session) -> Sequence[Dataset]:
    """All registered datasets by name."""
    return session.scalars(select(Dataset).order_by(Dataset.name)).all()


def load_dataset_for_job(session: Session, name: str) -> Dataset:
    """The dataset a job names; raises InvalidInput listing the registered names when unknown."""
    dataset = session.get(Dataset, name)
    if dataset is None:
        known = ", ".join(d.name for d in load_datasets(session)) or "(none registered yet)"
        raise InvalidInput(f"No dataset {name!r}. Available: {known}.", reason="dataset-unknown")
    return dataset


def dataset_summary(dataset: Dataset) -> dict[str, Any]:
    """The dataset as plain values (what the API returns)."""
    return {
        "name": dataset.name,
        "path": dataset.path,
        "description": dataset.description,
        "registered_by": dataset.registered_by,
        "registered_at": dataset.registered_at,
    }
