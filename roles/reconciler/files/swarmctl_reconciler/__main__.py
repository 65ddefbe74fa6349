"""python3 -m swarmctl_reconciler --config /etc/swarmctl/reconciler.json [--check-config | --once [--dry-run]]"""

from __future__ import annotations

import argparse
import sys

from .config import ConfigError, load


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="swarmctl-reconciler", description=__doc__)
    parser.add_argument("--config", required=True, help="JSON configuration file")
    parser.add_argument("--check-config", action="store_true", help="check the configuration and exit")
    parser.add_argument("--once", action="store_true", help="one pass now (acts only on the leader), then exit")
    parser.add_argument("--dry-run", action="store_true", help="with --once: say what would be done, do nothing")
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

    if args.once:
        import dataclasses

        if args.dry_run:
            config = dataclasses.replace(config, dry_run=True)
        reconciler = Reconciler(config, Engine(config.docker_host))
        reconciler.memory.ready_nodes = set()  # a one-off pass looks at every service's spread
        reconciler.cycle()
        return 0
    Reconciler(config, Engine(config.docker_host)).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
