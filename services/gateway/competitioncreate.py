"""Creating competitions from their YAML: through the API, or from files named in the settings at start."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy.orm import Session

from arenahub.core.errors import InvalidInput
from arenahub.core.yamlconf import ConfigError
from arenahub.gateway.competitionfile import CompetitionFile, load_competition_text
from arenahub.gateway.competitionmodels import Competition
from arenahub.gateway.competitionstore import save_new_competition
from arenahub.gateway.datasets import check_dataset_folder
from arenahub.gateway.models import Dataset

log = logging.getLogger(__name__)

#: Who created competitions that come from the gateway's settings (shown in the audit trail).
SETTINGS_AUTHOR = "gateway-settings"


def ensure_datasets(session: Session, loaded: CompetitionFile, admin: str, now: float) -> None:
    """Register the file's datasets that name a path and are not registered yet; refuse unknown ones."""
    for ref in loaded.spec.datasets:
        if session.get(Dataset, ref.name) is not None:
            continue
        if ref.path is None:
            raise InvalidInput(
                f"Dataset {ref.name!r} is not registered. Register it first (POST /datasets), or give its "
                "folder as datasets[].path in the competition file so it is registered now.",
                reason="dataset-unknown",
            )
        folder = check_dataset_folder(ref.path)
        session.add(Dataset(name=ref.name, path=str(folder), description=ref.description,
                            registered_by=admin, registered_at=now))
    session.flush()


def create_competition(session: Session, loaded: CompetitionFile, admin: str, now: float) -> Competition:
    """Store a new competition (and the datasets its file registers); 409 when its id is taken."""
    ensure_datasets(session, loaded, admin, now)
    spec = loaded.spec
    competition = Competition(
        id=spec.id, title=spec.title, spec=spec.model_dump(mode="json"), source_yaml=loaded.source_text,
        dataset=spec.scored_dataset, created_by=admin, created_at=now, closed_at=None, closed_by=None,
    )
    return save_new_competition(session, competition)


def create_missing_competitions(session: Session, files: Iterable[Path], now: float) -> list[str]:
    """Create each file's competition unless one with its id exists; returns the ids created.

    A file that does not load stops the gateway with its problems (``ConfigError``): an operator
    who names a competition file wants it, not a gateway that quietly runs without it.
    """
    created = []
    for path in files:
        try:
            text = Path(path).read_text()
        except OSError as err:
            raise ConfigError(str(path), [f"{path}: cannot read the competition file: {err.strerror}"]) from None
        loaded = load_competition_text(text, str(path))
        if session.get(Competition, loaded.spec.id) is not None:
            continue
        create_competition(session, loaded, SETTINGS_AUTHOR, now)
        created.append(loaded.spec.id)
        log.info("Created competition %s from %s", loaded.spec.id, path)
    return created
