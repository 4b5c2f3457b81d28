"""The offline painter: one 1280x720 picture, beside the floor of merely encoding one.

    python -m benchmarks.local_image [--repeat 5]

For a set of storyboard prompts, the median time to paint and encode a 1280x720 PNG, and the
reference measured in the same run: encoding an already painted picture (the part of the work
no painter can avoid). Results to stdout and benchmarks/results/local_image.json.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time
from pathlib import Path

from PIL import Image

from studio.providers import ImageRequest
from studio.providers.local import LocalImageModel, paint

RESULTS = Path(__file__).with_name("results") / "local_image.json"
PROMPTS = [
    ("empty highway at dusk, headlights far away", "wide"),
    ("neon signs reflected in wet asphalt, a city street in the rain at night", "medium"),
    ("a crowd of dancers in the city at night, neon lights", "wide"),
    ("a singer alone on the beach at sunset", "close"),
    ("misty mountains at dawn, a forest below", "wide"),
    ("abstract dreamy circles, bokeh", "medium"),
]
PALETTE = ["#ff2e88", "#00e5ff", "#120b2e"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    model = LocalImageModel()
    rows = []
    for prompt, shot in PROMPTS:
        request = ImageRequest(
            prompt=prompt, width=1280, height=720, seed=1, palette=PALETTE, shot=shot
        )
        whole, encode = [], []
        pixels = paint(prompt, 1280, 720, seed=1, palette=PALETTE, shot=shot)
        for _ in range(args.repeat):
            start = time.perf_counter()
            model.render(request)
            whole.append(time.perf_counter() - start)
            start = time.perf_counter()
            Image.fromarray(pixels).save(io.BytesIO(), format="PNG", compress_level=1)
            encode.append(time.perf_counter() - start)
        rows.append(
            {
                "prompt": prompt,
                "ms": 1000 * statistics.median(whole),
                "encode_ms": 1000 * statistics.median(encode),
            }
        )
    print("| prompt | paint + PNG (ms) | PNG encode alone (ms) | ratio |\n|---|---|---|---|")
    for r in rows:
        ratio = r["ms"] / r["encode_ms"]
        print(f"| {r['prompt']} | {r['ms']:.0f} | {r['encode_ms']:.0f} | {ratio:.1f}x |")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
