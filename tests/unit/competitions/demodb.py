"""A migrated SQLite gateway database holding the demo dataset and competition, for scorer tests."""

from __future__ import annotations

from pathlib import Path

from arenahub.demo import DemoInstall, install
from arenahub.gateway.competitionfile import load_competition_text
from arenahub.gateway.competitionmodels import Competition
from arenahub.gateway.competitionstore import save_new_competition
from arenahub.gateway.db import Database, run_migrations
from arenahub.gateway.models import Dataset


def demo_database(tmp_path: Path, yaml_suffix: str = "") -> tuple[Database, DemoInstall]:
    """The database (``tmp_path/gw.sqlite``) and the demo installed under ``tmp_path/data``; the
    competition "demo" on dataset "demo-points", its YAML extended by ``yaml_suffix``."""
    db = Database.from_url(f"sqlite:///{tmp_path / 'gw.sqlite'}")
    run_migrations(db.engine)
    demo = install(tmp_path / "data")
    loaded = load_competition_text(demo.yaml_text + yaml_suffix)

    def seed(session):
        session.add(Dataset(name="demo-points", path=str(demo.dataset_dir), description="", registered_by="o",
                            registered_at=0.0))
        save_new_competition(session, Competition(
            id="demo", title="Demo", spec=loaded.spec.model_dump(mode="json"), source_yaml=demo.yaml_text,
            dataset="demo-points", created_by="o", created_at=0.0, closed_at=None, closed_by=None))

    db.run_sync(seed)
    return db, demo
