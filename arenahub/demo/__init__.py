"""The demo competition: its YAML file, a generated dataset, and the demo job (job/)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from arenahub.core.competition import CompetitionSpec
from arenahub.core.yamlconf import validate_yaml
from arenahub.demo.dataset import write_demo_dataset

#: The shipped competition file (its dataset has no path until ``install`` writes one).
DEMO_COMPETITION = Path(__file__).with_name("competition.yaml")
DEMO_DATASET = "demo-points"


@dataclass(frozen=True)
class DemoInstall:
    """What ``install`` made: the spec, the filled-in YAML (text and file) and the dataset folder."""

    spec: CompetitionSpec
    yaml_text: str
    yaml_path: Path
    dataset_dir: Path


def install(data_dir: Path, *, seed: int = 7) -> DemoInstall:
    """Generate the demo dataset under ``data_dir/demo-points`` (once) and write ``data_dir/demo-competition.yaml``.

    Safe to repeat: an existing dataset folder is kept. Create the competition by posting
    ``yaml_text`` to the gateway (``arenahub competition create <yaml_path>``), which also
    registers the dataset.
    """
    dataset_dir = (Path(data_dir) / DEMO_DATASET).resolve()
    if not (dataset_dir / "test" / "annotations").is_dir():
        write_demo_dataset(dataset_dir, seed=seed)
    data = yaml.safe_load(DEMO_COMPETITION.read_text())
    data["datasets"][0]["path"] = str(dataset_dir)
    text = "# Written by arenahub.demo.install from arenahub/demo/competition.yaml.\n" + yaml.safe_dump(
        data, sort_keys=False, allow_unicode=True
    )
    yaml_path = Path(data_dir) / "demo-competition.yaml"
    yaml_path.write_text(text)
    spec = validate_yaml(CompetitionSpec, text, str(yaml_path))
    return DemoInstall(spec=spec, yaml_text=text, yaml_path=yaml_path, dataset_dir=dataset_dir)


__all__ = ["DEMO_COMPETITION", "DEMO_DATASET", "DemoInstall", "install", "write_demo_dataset"]
