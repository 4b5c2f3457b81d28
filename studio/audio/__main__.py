"""The analysis worker: ``python -m studio.audio analyze FILE --sha SHA --out OUT``.

The engine runs each analysis in its own process, so a long song never stalls the engine's
event loop, a cancel can kill it, and its memory is given back when it ends. The result (or
the error, as the studio's error payload) is written as JSON to ``OUT``.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
from pathlib import Path

from studio.errors import StudioError
from studio.files import replacing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studio.audio")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("analyze", help="analyse one audio file")
    run.add_argument("file", type=Path)
    run.add_argument("--sha", required=True, help="the file's sha256 (names the analysis)")
    run.add_argument("--out", type=Path, required=True, help="where to write the JSON result")
    args = parser.parse_args(argv)
    from studio.audio._analyze import analyze_file

    try:
        analysis, stages = analyze_file(args.file, args.sha)
        result = {
            "analysis": analysis.model_dump(mode="json"),
            "stages": stages,
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
        code = 0
    except StudioError as exc:
        result, code = {"error": exc.to_payload()}, 2
    with replacing(args.out) as tmp:
        tmp.write_text(json.dumps(result))
    return code


if __name__ == "__main__":
    sys.exit(main())
