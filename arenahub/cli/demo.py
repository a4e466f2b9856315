"""``arenahub run --demo``: the demo competition's dataset and file, and a starter home for new users."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from arenahub.demo import DEMO_DATASET, DemoInstall, install

DEMO_JOB = Path(__file__).resolve().parent.parent / "demo" / "job"

WELCOME = """# Welcome to the arenahub demo competition

`demo-job/` holds a small training script (`train.py`, it reports loss and accuracy with
`arenahub.sdk.report`) and the algorithm for the hidden test set (`predict.py`).

Run the cell below to open the panel, then:
1. Click **Train**: it runs `train.py` (the panel's *Train runs* picker) in a sandbox on whole
   GPUs (CPU here). Watch the filtered log and the loss curve grow.
2. Click **Test**: it runs `predict.py` (the *Test runs* picker) on the hidden test inputs; the
   gateway scores its answers and posts the score to the leaderboard, and the panel shows your
   score and rank.

Nothing to change first: the panel picks `train.py` for Train and `predict.py` for Test.
"""


def starter_notebook() -> nbformat.NotebookNode:
    """The notebook every demo home starts with: a welcome and the Workbench cell."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(WELCOME),
        nbformat.v4.new_code_cell("from arenahub.widgets import Workbench\n"
                                  'Workbench("demo-job", entrypoint="train.py", test_entrypoint="predict.py",\n'
                                  f'          dataset="{DEMO_DATASET}")'),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def prepare_demo(data_dir: Path) -> tuple[DemoInstall, Path]:
    """Generate the demo dataset and competition file, and the skeleton copied into new homes.

    Safe to repeat; returns what ``arenahub.demo.install`` made and the skeleton folder.
    """
    made = install(data_dir)
    skeleton = data_dir / "demo-home"
    job = skeleton / "demo-job"
    job.mkdir(parents=True, exist_ok=True)
    for script in ("train.py", "predict.py"):
        shutil.copyfile(DEMO_JOB / script, job / script)
    nbformat.write(starter_notebook(), skeleton / "Start here.ipynb")
    return made, skeleton
