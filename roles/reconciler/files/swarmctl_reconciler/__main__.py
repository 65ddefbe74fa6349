"""python3 -m swarmctl_reconciler --config /etc/swarmctl/reconciler.json [--check-config]"""

from __future__ import annotations

import argparse
import sys

from .config import ConfigError, load


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="swarmctl-reconciler", description=__doc__)
    parser.add_argument("--config", required=True, help="JSON configuration file")
    parser.add_argument("--check-config", action="store_true", help="check the configuration and exit")
    args = parser.parse_args(argv)
    try:
        config = load(args.config)
    except ConfigError as exc:
        print(f"swarmctl-reconciler: bad configuration in {args.config}: {exc}", file=sys.stderr)
        return 2
    if args.check_config:
        print(f"{args.config}: ok")
        return 0
    from .daemon import Reconciler
    from .engine import Engine

    Reconciler(config, Engine(config.docker_host)).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
