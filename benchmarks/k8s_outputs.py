"""Time a Kubernetes test run's output collection: the collector's pack+frame and the gateway's
verify+unpack of realistic prediction outputs, beside plain `tar czf` / `tar xzf` of the same folder.

    .venv/bin/python benchmarks/k8s_outputs.py [--sizes-mb 1 10] [--repeat 5]

Shapes per size: "csv", one predictions table (id, label, score, box); "json", one small file
per test sample (~350 bytes, like the demo competition's `<id>.json`). Contents are random
but prediction-like (decimal numbers, a few labels), so they compress as real outputs do.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arenahub.jobrunner.outputframe import build_frame, pack_outputs, read_frame, unpack_outputs  # noqa: E402

LABELS = ["cat", "dog", "bird", "horse", "sheep", "cow"]


def make_csv(folder: Path, size_bytes: int, rng: random.Random) -> None:
    with open(folder / "predictions.csv", "w") as out:
        out.write("id,label,score,x0,y0,x1,y1\n")
        written, i = 0, 0
        while written < size_bytes:
            line = (f"{i:08d},{rng.choice(LABELS)},{rng.random():.6f},{rng.uniform(0, 640):.2f},"
                    f"{rng.uniform(0, 480):.2f},{rng.uniform(0, 640):.2f},{rng.uniform(0, 480):.2f}\n")
            out.write(line)
            written, i = written + len(line), i + 1


def make_json(folder: Path, size_bytes: int, rng: random.Random) -> None:
    written, i = 0, 0
    while written < size_bytes:
        sample = {"label": rng.choice(LABELS), "count": rng.randint(0, 20),
                  "boxes": [[round(rng.uniform(0, 640), 2) for _ in range(4)] + [round(rng.random(), 4)]
                            for _ in range(rng.randint(3, 12))]}
        text = json.dumps(sample)
        (folder / f"{i:06d}.json").write_text(text)
        written, i = written + len(text), i + 1


def median_s(work: Callable[[], object], repeat: int, setup: Callable[[], object] = lambda: None) -> float:
    """Median wall time of ``work`` over ``repeat`` runs; ``setup`` runs before each, untimed."""
    times = []
    for _ in range(repeat):
        setup()
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(folder: Path, scratch: Path, repeat: int) -> dict[str, float]:
    packed = pack_outputs(folder, max_bytes=1 << 30)
    lines = build_frame(packed.archive)
    log_text = "\n".join(lines) + "\n"

    def ours_pack() -> str:
        return "\n".join(build_frame(pack_outputs(folder, max_bytes=1 << 30).archive)) + "\n"

    def fresh(name: str) -> Callable[[], None]:
        def setup() -> None:
            shutil.rmtree(scratch / name, ignore_errors=True)
            (scratch / name).mkdir()
        return setup

    def ours_unpack() -> None:
        unpack_outputs(read_frame(log_text.splitlines(), max_bytes=1 << 30), scratch / "ours")

    tarball = scratch / "plain.tar.gz"

    def tar_pack() -> None:
        subprocess.run(["tar", "czf", str(tarball), "-C", str(folder), "."], check=True)

    def tar_unpack() -> None:
        subprocess.run(["tar", "xzf", str(tarball), "-C", str(scratch / "plain")], check=True)

    tar_pack()
    return {
        "files": packed.files, "raw": packed.file_bytes, "archive": len(packed.archive), "frame": len(log_text),
        "tar_gz": tarball.stat().st_size,
        "ours_pack": median_s(ours_pack, repeat), "ours_unpack": median_s(ours_unpack, repeat, fresh("ours")),
        "tar_pack": median_s(tar_pack, repeat), "tar_unpack": median_s(tar_unpack, repeat, fresh("plain")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mb", type=float, nargs="+", default=[1, 10])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print("| shape | size | files | tar.gz / frame bytes | pack+frame (ours) | tar czf | verify+unpack (ours) | tar xzf |")
    print("|---|---|---|---|---|---|---|---|")
    for size_mb in args.sizes_mb:
        for shape, make in (("csv", make_csv), ("json", make_json)):
            with tempfile.TemporaryDirectory(prefix="k8s-outputs-bench-") as tmp:
                folder, scratch = Path(tmp) / "outputs", Path(tmp) / "scratch"
                folder.mkdir()
                scratch.mkdir()
                make(folder, int(size_mb * 1e6), random.Random(7))
                r = measure(folder, scratch, args.repeat)
                print(f"| {shape} | {r['raw'] / 1e6:.1f} MB | {r['files']} | {r['archive'] / 1e6:.2f} MB / "
                      f"{r['frame'] / 1e6:.2f} MB (tar czf {r['tar_gz'] / 1e6:.2f} MB) | {r['ours_pack'] * 1e3:.0f} ms | "
                      f"{r['tar_pack'] * 1e3:.0f} ms | {r['ours_unpack'] * 1e3:.0f} ms | {r['tar_unpack'] * 1e3:.0f} ms |",
                      flush=True)


if __name__ == "__main__":
    main()
