"""Loads recorded NVML readings (tests/unit/observability/fixtures) into arenahub.gateway.gpumon values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from arenahub.gateway.gpumon import GpuReading, NvmlSnapshot, Owner, ProcessReading, owner_from_job, owners_from_hub_users

FIXTURES = Path(__file__).parent / "fixtures"


def load_recording(name: str) -> tuple[NvmlSnapshot, dict[int, int], list[Owner], dict[str, Any]]:
    """(snapshot, parents, owners, raw JSON) of one recording."""
    raw = json.loads((FIXTURES / name).read_text())
    snapshot = NvmlSnapshot(
        taken_at=raw["taken_at"],
        gpus=tuple(GpuReading(**g) for g in raw["gpus"]),
        processes=tuple(ProcessReading(**p) for p in raw["processes"]),
    )
    parents = {int(k): v for k, v in raw["parents"].items()}
    owners = [*owners_from_hub_users(raw["hub_users"]), *(owner_from_job(**j) for j in raw["jobs"])]
    return snapshot, parents, owners, raw
