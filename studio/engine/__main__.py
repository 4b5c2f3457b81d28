"""``python -m studio.engine``: run the engine in the foreground (the client starts it so)."""

from __future__ import annotations

import argparse
import logging
import sys

from studio.engine._home import Home
from studio.engine._server import EngineServer
from studio.errors import StudioError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studio.engine", description=__doc__)
    parser.add_argument("--home", help="studio home (default: $STUDIO_HOME or ~/.studio)")
    parser.add_argument(
        "--tcp", type=int, metavar="PORT", help="serve on 127.0.0.1:PORT (0: any free port)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        EngineServer(Home.resolve(args.home), tcp_port=args.tcp).run()
    except StudioError as exc:
        print(f"studio engine: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
