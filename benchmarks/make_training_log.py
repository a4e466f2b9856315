"""Writes a large synthetic training log for benchmarks/logfilter_throughput.py.

About 2 % of the lines carry encoded data (base64/base32/hex blobs, byte lists, split
fragments, random tokens inside normal lines); the rest is PyTorch, Lightning, Hugging Face,
Keras and tqdm output, arenahub metric lines and tracebacks from tests/unit/logpolicy/trainlogs.py.

    .venv/bin/python benchmarks/make_training_log.py /tmp/arenahub-train-500mb.log --mb 500
"""

from __future__ import annotations

import argparse
import base64
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.unit.logpolicy.trainlogs import STYLES  # noqa: E402


def encoded_lines(rng: random.Random) -> list[str]:
    """One burst of exfiltration-looking output (1 to 12 lines)."""
    secret = rng.randbytes(rng.randrange(30, 300))
    choice = rng.randrange(6)
    if choice == 0:
        return [base64.b64encode(secret).decode()]
    if choice == 1:
        return [f"debug: {secret.hex()}"]
    if choice == 2:
        return [str(list(secret[:64]))]
    if choice == 3:
        text = base64.b32encode(secret).decode()
        return [text[i:i + 16] for i in range(0, min(len(text), 192), 16)]
    if choice == 4:
        token = base64.urlsafe_b64encode(secret[:18]).decode()
        return [f"epoch {rng.randrange(50)} id={token} loss={rng.random():.4f}"]
    return [str(b) for b in secret[:10]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--mb", type=int, default=500, help="size in MB (10^6 bytes)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    # A pool of rendered style runs (rendering tqdm bars is the slow part), sampled below.
    pool = [[text for _, text in style(random.Random(i), 2)] for i in range(40) for style in STYLES.values()]
    target = args.mb * 1_000_000
    written = lines = encoded = 0
    with args.path.open("w", encoding="utf-8") as out:
        while written < target:
            block: list[str] = []
            for text in rng.choice(pool):
                block.append(text)
                if rng.random() < 0.005:
                    burst = encoded_lines(rng)
                    encoded += len(burst)
                    block.extend(burst)
            data = "\n".join(block) + "\n"
            out.write(data)
            written += len(data.encode())
            lines += len(block)
    print(f"wrote {args.path}: {written / 1e6:.1f} MB, {lines} lines, {encoded} encoded-data lines ({100 * encoded / lines:.2f} %)")


if __name__ == "__main__":
    main()
