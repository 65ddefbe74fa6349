"""swarmctl: one subcommand per job, each a playbook run through ansible-runner.

Exit codes: 0 ok, 1 error (Ansible or swarmctl could not run the job), 2 bad usage,
3 a host failed, 4 a host was unreachable, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from swarmctl import __version__, paths
from swarmctl.inputs import InputError
from swarmctl.lab.topology import TopologyError
from swarmctl.runner import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    PlaybookRun,
    run_playbook,
)

EPILOG = """\
exit codes: 0 ok, 1 error, 2 bad usage, 3 a host failed, 4 a host was unreachable, 130 interrupted
state (lab keys and inventories, run artifacts): $SWARMCTL_HOME, default ~/.local/state/swarmctl
"""


class UsageError(Exception):
    """Bad usage: the message says what to type instead."""


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print JSON lines (events, then a summary) instead of text")
    return common


def _playbook_options() -> argparse.ArgumentParser:
    opts = argparse.ArgumentParser(add_help=False)
    opts.add_argument("-i", "--inventory", metavar="INVENTORY",
                      help="Ansible inventory (default: the inventory of the lab named by --lab)")
    opts.add_argument("--lab", default="lab", metavar="NAME",
                      help="lab whose inventory is used when -i is not given (default: lab)")
    opts.add_argument("-e", "--extra-vars", action="append", default=[], metavar="VARS",
                      help="extra variables, as for ansible-playbook (key=value, JSON or @file); repeatable")
    opts.add_argument("-l", "--limit", metavar="PATTERN", help="limit the run to these hosts")
    opts.add_argument("-t", "--tags", metavar="TAGS", help="only run tasks with these tags")
    opts.add_argument("-C", "--check", action="store_true", help="change nothing; report what would change")
    opts.add_argument("-D", "--diff", action="store_true", help="show what changes (or would change)")
    opts.add_argument("-v", "--verbose", action="count", default=0, help="more output (repeat for more)")
    return opts


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port (1-65535)")
    return int(text)


def _bind_address(text: str) -> str:
    import ipaddress

    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        if text == "localhost":
            return "127.0.0.1"
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an IP address of this machine (e.g. 127.0.0.1, or 0.0.0.0 for every address)") from None


def _interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.2 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds between 0.2 and 3600")
    return value


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog="swarmctl",
        description="Turn plain Linux hosts into a Docker Swarm with Ansible, and keep it healthy.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"swarmctl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    lab = sub.add_parser("lab", help="local lab of real hosts (systemd + sshd containers)",
                         description="Manage the local lab: hosts that behave like fresh Debian 12 servers.")
    lab_sub = lab.add_subparsers(dest="lab_command", metavar="ACTION")
    lab_sub.required = True
    lab_up = lab_sub.add_parser("up", parents=[common], help="create or start the lab (no change if it runs)",
                                description="Create the lab's hosts, or start stopped ones; grows a running "
                                "lab in place. Prints where its inventory is.")
    lab_up.add_argument("--name", default="lab", help="lab name (default: lab)")
    lab_up.add_argument("--managers", type=int, help="manager hosts (default 1, or the running lab's)")
    lab_up.add_argument("--workers", type=int, help="worker hosts (default 2, or the running lab's)")
    lab_up.add_argument("--subnet", help="IPv4 subnet of the lab network (default 172.25.78.0/24)")
    lab_up.add_argument("--registry-host", help="name of the registry host (default foundation78)")
    lab_up.add_argument("--no-registry", action="store_true", help="no registry host")
    lab_down = lab_sub.add_parser("down", parents=[common], help="remove every container, volume and network of the lab",
                                  description="Remove the lab: its containers, volumes, network, keys and inventory. "
                                  "Nothing else is touched.")
    lab_down.add_argument("--name", default="lab", help="lab name (default: lab)")
    lab_down.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    lab_status = lab_sub.add_parser("status", parents=[common], help="show the lab's hosts",
                                    description="Show the lab's hosts, their state and whether sshd answers.")
    lab_status.add_argument("--name", default="lab", help="lab name (default: lab)")

    up = sub.add_parser("up", parents=[common, _playbook_options()],
                        help="bring the cluster to its desired state (playbooks/site.yml)",
                        description="Run playbooks/site.yml against the inventory: validate it, then "
                        "provision every host. Safe to repeat: a second run changes nothing.")
    up.set_defaults(playbook="site.yml")

    add = sub.add_parser("add-node", parents=[common, _playbook_options()],
                         help="join hosts of the inventory to the running swarm (playbooks/add-node.yml)",
                         description="Prepare the given hosts (engine, registry trust) and join them to the running "
                         "swarm. Nothing else is changed. The hosts must be in the inventory's managers or "
                         "workers group already.")
    add.add_argument("hosts", nargs="+", metavar="HOST", help="inventory names of the hosts to add")
    add.set_defaults(playbook="add-node.yml", node_var="nodes")

    remove = sub.add_parser("remove-node", parents=[common, _playbook_options()],
                            help="drain, demote and remove hosts from the swarm (playbooks/remove-node.yml)",
                            description="Take hosts out of the swarm safely: refuse if quorum would be lost, drain "
                            "them and wait until their tasks run elsewhere, demote managers, make them leave, "
                            "remove them from the node list. Destructive: needs --yes.")
    remove.add_argument("hosts", nargs="+", metavar="HOST", help="inventory names of the hosts to remove")
    remove.add_argument("--yes", action="store_true", help="confirm the removal")
    remove.set_defaults(playbook="remove-node.yml", node_var="nodes", destructive=True)

    maint = sub.add_parser("maintenance", parents=[common, _playbook_options()],
                           help="mark hosts for planned maintenance, or take the mark off (playbooks/maintenance.yml)",
                           description="`maintenance on HOST...` puts a maintenance mark on the hosts' nodes (a node "
                           "label): the reconciler never replaces a marked manager while it is away, however long a "
                           "reboot takes, and never promotes a marked worker; `swarmctl status` shows the mark. "
                           "`maintenance off HOST...` takes it off. Nothing else changes (drain a node yourself if "
                           "its tasks should move first). Hosts already down may be marked.")
    maint.add_argument("state", choices=["on", "off"])
    maint.add_argument("hosts", nargs="+", metavar="HOST", help="inventory names of the hosts")
    maint.add_argument("--reason", default="planned maintenance", help="why, shown by swarmctl status")
    maint.set_defaults(playbook="maintenance.yml", node_var="nodes")

    reset = sub.add_parser("reset", parents=[common, _playbook_options()],
                           help="take the swarm off the inventory's hosts, to start over (playbooks/reset.yml)",
                           description="Remove every service (HAProxy too) and the reconciler, and make every "
                           "node leave the swarm, which takes its networks, configs and secrets with it. The "
                           "engines, the registry, the certificates and containers outside the swarm stay; a host "
                           "in another swarm is left as it is. `swarmctl up` afterwards builds the swarm anew. "
                           "Destructive: needs --yes.")
    reset.add_argument("--yes", action="store_true", help="confirm: the swarm and its services are gone")
    reset.add_argument("--engine", action="store_true",
                       help="also remove the engine from the swarm's hosts (docker.io; images, volumes and "
                            "containers' data stay; refused on a host that runs containers of its own)")
    reset.add_argument("--registry", action="store_true", help="also remove the registry from its host (its images stay)")
    reset.set_defaults(playbook="reset.yml", destructive=True)

    backup = sub.add_parser("backup", parents=[common, _playbook_options()],
                            help="back up the swarm's Raft state and what it runs (playbooks/backup.yml)",
                            description="Copy the swarm's Raft state from a manager that does not lead (its engine "
                            "stopped for the copy, its node drained meanwhile) and a readable export of what the "
                            "swarm runs (services and their specs, networks, configs, secret names, node labels) to "
                            "credentials/backups/<time>/ next to the inventory (0600; with autolock, the unlock key "
                            "too); the last 5 are kept (-e backup_keep=N). Says where it is and how big.")
    backup.add_argument("--yes", action="store_true",
                        help="on a swarm of one manager: accept that it cannot be changed for the seconds of the copy")
    backup.set_defaults(playbook="backup.yml")

    restore = sub.add_parser("restore", parents=[common, _playbook_options()],
                             help="rebuild the swarm from a backup on the inventory's first manager (playbooks/restore.yml)",
                             description="When every manager is gone: put a backup's Raft state on the inventory's "
                             "first manager (a fresh host, or the old one out of any swarm), start a swarm of it there "
                             "(--force-new-cluster), then bring every other host of the inventory in as `swarmctl up` "
                             "does. Services come back with their specs and versions. Refuses while a manager of the "
                             "inventory is in a swarm (use recover for lost quorum). Destructive: needs --yes.")
    restore.add_argument("--from", dest="restore_from", required=True, metavar="DIR",
                         help="a backup folder written by swarmctl backup (credentials/backups/<time>)")
    restore.add_argument("--yes", action="store_true", help="confirm: the swarm is rebuilt from this backup")
    restore.set_defaults(playbook="restore.yml", destructive=True)

    upgrade = sub.add_parser("upgrade", parents=[common, _playbook_options()],
                             help="upgrade the engine's packages node by node, each drained first (playbooks/upgrade.yml)",
                             description="Bring docker.io, containerd, runc and python3-docker on the swarm's hosts "
                             "(and the registry's host, last) to "
                             "the newest versions their repositories offer, or to the versions given with --version: "
                             "one node at a time (workers --batch at a time), each drained first, its engine stopped "
                             "for the packages and started again, then Ready, its availability given back, and every "
                             "service at its replica count before the next. Managers go one at a time and only while "
                             "every other manager is reachable. Hosts already at those versions are not touched; a "
                             "run cut short is finished by the next one.")
    upgrade.add_argument("--version", dest="versions", action="append", default=[], metavar="PACKAGE=VERSION",
                         help="a package and the version to bring it to (repeatable; up or down); "
                              "only the packages given are touched. Default: all four at their newest")
    upgrade.add_argument("--batch", type=int, default=1, metavar="N", help="workers upgraded at the same time (default 1)")
    upgrade.set_defaults(playbook="upgrade.yml")

    recover = sub.add_parser("recover", parents=[common, _playbook_options()],
                             help="rebuild a swarm that lost quorum from a surviving manager (playbooks/recover.yml)",
                             description="When the majority of the managers is gone for good: pick the surviving "
                             "manager whose Raft log goes furthest (and say why), force a new cluster there (services, "
                             "networks, secrets and configs are kept), remove the lost managers, and join healthy "
                             "hosts as managers one at a time until the swarm has the inventory's number again. "
                             "Refuses, changing nothing, while a manager leads (use remove-node) or when no manager "
                             "survives. Destructive: needs --yes.")
    recover.add_argument("--yes", action="store_true", help="confirm: the lost managers are gone for good")
    recover.set_defaults(playbook="recover.yml", destructive=True)

    deploy = sub.add_parser("deploy", parents=[common, _playbook_options()],
                            help="put services online at their declared specs (playbooks/deploy.yml)",
                            description="Create or update the services of the inventory's swarmctl_services (or "
                            "only the named ones), following each rollout until it converges, pauses or rolls "
                            "back. Services can also come from a file: -e @services.yml.")
    deploy.add_argument("services", nargs="*", metavar="SERVICE", help="only these services (default: all)")
    deploy.add_argument("--stack", metavar="NAME", help="deploy a compose file as the stack NAME instead "
                        "(with --compose-file; the inventory's services, secrets and configs are left alone)")
    deploy.add_argument("--compose-file", metavar="FILE", help="the compose file of --stack")
    deploy.set_defaults(playbook="deploy.yml")

    update = sub.add_parser("update", parents=[common, _playbook_options()],
                            help="roll a new image out to services (playbooks/update.yml)",
                            description="Roll IMAGE out to the running services, keeping the rest of their specs, "
                            "by their update_config (parallelism, delay, failure_action); wait until the rollout "
                            "converges, pauses or rolls back. Exit code 3 when it paused or rolled back.")
    update.add_argument("services", nargs="+", metavar="SERVICE")
    update.add_argument("--image", required=True, help="the new image, e.g. westos.org/web:v2")
    update.set_defaults(playbook="update.yml")

    rollback = sub.add_parser("rollback", parents=[common, _playbook_options()],
                              help="return services to their previous spec (playbooks/rollback.yml)",
                              description="Roll the services back to their previous spec, as `docker service "
                              "rollback` does, and wait until the rollback completes.")
    rollback.add_argument("services", nargs="+", metavar="SERVICE")
    rollback.set_defaults(playbook="rollback.yml")

    bundle = sub.add_parser("package-bundle", parents=[common, _playbook_options()],
                            help="download the engine's packages once, for hosts with no mirror (playbooks/package-bundle.yml)",
                            description="On HOST (a host of the inventory, or localhost), download the engine's and "
                            "the registry's Debian packages and everything they depend on into one package bundle, "
                            "and keep it on the control machine as DIR/<distribution>-<release>-<arch>.tar. Hosts of "
                            "that release with no route to any mirror then install from it alone "
                            "(docker_engine_package_source: bundle). Installs nothing on HOST.")
    bundle.add_argument("--host", dest="bundle_host", required=True, metavar="HOST",
                        help="a host that reaches a Debian mirror and runs the offline hosts' release")
    bundle.add_argument("--output", dest="bundle_output", metavar="DIR",
                        help="where to keep the bundle (default: package-bundles/ next to the inventory)")
    bundle.add_argument("--version", dest="versions", action="append", default=[], metavar="PACKAGE=VERSION",
                        help="a package at a version of its own instead of the mirror's newest (repeatable), e.g. "
                             "the build a later `swarmctl upgrade` from this bundle brings the hosts to")
    bundle.set_defaults(playbook="package-bundle.yml")

    scale = sub.add_parser("scale", parents=[common, _playbook_options()],
                           help="change services' replica counts (playbooks/scale.yml)",
                           description="Set replica counts, e.g. `swarmctl scale web=10`; nothing else in the "
                           "specs changes. Waits until the tasks run.")
    scale.add_argument("assignments", nargs="+", metavar="SERVICE=REPLICAS")
    scale.set_defaults(playbook="scale.yml")

    export = sub.add_parser("export", parents=[common, _playbook_options()],
                            help="write the swarm's services down as swarmctl specs (playbooks/export.yml)",
                            description="Read every service of the swarm (or the SERVICEs named) and write them to "
                            "FILE as items of swarmctl_services, to hand a swarm swarmctl did not make to swarmctl: "
                            "put the file in the inventory's group_vars, and the next deploy changes nothing. The run "
                            "names what no option describes (a deploy of the file would take it out), and leaves out "
                            "swarmctl's own services and those of stacks. FILE is new, mode 0600 (environment values "
                            "are in it; they are never shown). Reads the swarm only.")
    export.add_argument("services", nargs="*", metavar="SERVICE")
    export.add_argument("--output", "-o", dest="export_output", required=True, metavar="FILE",
                        help="the file to write (a new one: an existing file is never replaced)")
    export.set_defaults(playbook="export.yml")

    status = sub.add_parser("status", parents=[common, _playbook_options()],
                            help="nodes, services and the reconciler's last actions (playbooks/status.yml)",
                            description="Ask the managers for the swarm's nodes (role, availability, state, leader), "
                            "its services (replicas running/wanted, image, update state) and the reconciler's "
                            "recent actions. Reads only. Exit code 1 when no manager answers.")
    status.set_defaults(playbook="status.yml", handler="status")

    reconcile = sub.add_parser("reconcile", parents=[common, _playbook_options()],
                               help="one reconciliation pass now (playbooks/reconcile.yml)",
                               description="The reconciler runs continuously on every manager. `reconcile --once` "
                               "runs one pass now, with the same rules (replace dead managers, rebalance services, "
                               "report or roll back stuck updates); only the leader acts. With --dry-run it says "
                               "what it would do.")
    reconcile.add_argument("--once", action="store_true", required=True, help="one pass, then exit (required)")
    reconcile.add_argument("--dry-run", action="store_true", help="say what would be done, change nothing")
    reconcile.set_defaults(playbook="reconcile.yml")

    dash = sub.add_parser("dashboard", parents=[common],
                          help="serve a live web page of the nodes and their tasks",
                          description="Serve a local web page that draws every node and the tasks on it (service "
                          "versions in their own colors), the services and the reconciler's actions, updated every "
                          "second while tasks move. It reads a manager over SSH with the inventory's settings.")
    dash.add_argument("-i", "--inventory", metavar="INVENTORY", help="inventory (default: the lab's)")
    dash.add_argument("--lab", default="lab", metavar="NAME", help="lab whose inventory is used without -i")
    dash.add_argument("--bind", default="127.0.0.1", type=_bind_address,
                      help="address to listen on (default 127.0.0.1; anything else is reachable from other machines)")
    dash.add_argument("--port", type=_port, default=8765, help="port, 1-65535 (default 8765)")
    dash.add_argument("--interval", type=_interval, default=1.0,
                      help="seconds between reads of the cluster (default 1)")
    dash.set_defaults(handler="dashboard")

    image = sub.add_parser("image", help="build images from Debian packages, for sites with no registry to pull from",
                           description="Build images on this machine from Debian packages (debootstrap and docker "
                           "import; needs root and a local Docker engine) and save them as an archive that "
                           "registry_images pushes into the private registry.")
    image_sub = image.add_subparsers(dest="image_command", metavar="ACTION")
    image_sub.required = True
    build = image_sub.add_parser("build", parents=[common], help="build an image and save it as an archive",
                                 description="Build NAME (haproxy: the edge load balancer; web: the demo app, "
                                 "v1, v2 and a broken tag) and write a docker-save archive to --output.")
    build.add_argument("name", choices=["haproxy", "web"])
    build.add_argument("--output", default=".", help="directory for the archive (default: here)")
    build.set_defaults(handler="image")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 0 for --help/--version, 2 for bad usage
        return int(exc.code or 0)
    json_mode = getattr(args, "json", False)
    try:
        if args.command == "lab":
            return _lab(args, json_mode)
        if args.command == "dashboard":
            return _dashboard(args, json_mode)
        if args.command == "image":
            return _image(args, json_mode)
        return _playbook(args, json_mode)
    except (UsageError, InputError, paths.BadName, TopologyError) as exc:
        _error(str(exc), json_mode, kind="usage")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _error("interrupted", json_mode)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - every known failure carries an actionable message
        from swarmctl.lab.images import ImageBuildError
        from swarmctl.lab.lab import LabError
        from swarmctl.runner import RunnerError

        if isinstance(exc, (LabError, ImageBuildError, RunnerError)):
            _error(str(exc), json_mode)
            return EXIT_ERROR
        raise


def _error(message: str, json_mode: bool, kind: str = "error") -> None:
    if json_mode:
        print(json.dumps({"event": "error", "kind": kind, "msg": message}), flush=True)
    else:
        print(f"swarmctl: {message}", file=sys.stderr, flush=True)


def _log(json_mode: bool):
    if json_mode:
        return lambda msg: print(json.dumps({"event": "log", "msg": msg.strip()}), flush=True)
    return lambda msg: print(msg, file=sys.stderr, flush=True)


def _lab(args, json_mode: bool) -> int:
    from swarmctl.lab.lab import Lab
    from swarmctl.lab.topology import LabSpec

    lab = Lab(args.name, log=_log(json_mode))
    if args.lab_command == "up":
        spec = _lab_spec(args, lab.stored_spec(), LabSpec)
        result = lab.up(spec)
        if json_mode:
            print(json.dumps({"event": "lab", **result}), flush=True)
        else:
            state = "created/updated" if result["changed"] else "already up, nothing changed"
            print(f"lab {result['lab']!r}: {state} in {result['seconds']:.1f}s")
            for host in result["hosts"]:
                print(f"  {host['name']:<14} {host['group']:<9} {host['address']}")
            print(f"inventory: {result['inventory']}")
            print("next: swarmctl up    (uses this lab's inventory)")
        return EXIT_OK
    if args.lab_command == "down":
        if not args.yes:
            if not sys.stdin.isatty():
                raise UsageError(f"`lab down` removes lab {args.name!r} and everything on it; add --yes to confirm")
            answer = input(f"Remove lab {args.name!r}, its hosts and their data? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                print("nothing removed")
                return EXIT_OK
        result = lab.down()
        if json_mode:
            print(json.dumps({"event": "lab", **result}), flush=True)
        elif result["changed"]:
            removed = result["removed"]
            print(f"lab {args.name!r} removed: {len(removed['containers'])} container(s), "
                  f"{len(removed['volumes'])} volume(s), {len(removed['networks'])} network(s)")
        else:
            print(f"no lab named {args.name!r}; nothing to remove")
        return EXIT_OK
    result = lab.status()
    if json_mode:
        print(json.dumps({"event": "lab", **result}), flush=True)
        return EXIT_OK
    if not result["exists"]:
        print(f"no lab named {args.name!r}; create one with: swarmctl lab up --name {args.name}")
        return EXIT_OK
    print(f"lab {args.name!r}")
    print(f"  {'host':<14} {'group':<9} {'address':<15} {'container':<10} ssh")
    for host in result["hosts"]:
        print(f"  {host['name']:<14} {host['group'] or '-':<9} {host['address'] or '-':<15} "
              f"{host['state']:<10} {'up' if host['ssh'] else 'down'}")
    print(f"inventory: {result['inventory'] or '(none)'}")
    return EXIT_OK


def _lab_spec(args, stored, spec_type):
    base = stored or spec_type(name=args.name)
    changes = {
        "managers": args.managers,
        "workers": args.workers,
        "subnet": args.subnet,
        "registry_host": args.registry_host,
    }
    data = base.to_dict()
    data.update({k: v for k, v in changes.items() if v is not None})
    data["name"] = args.name
    if args.no_registry:
        data["registry"] = False
    return spec_type.from_dict(data)


def resolve_inventory(args) -> Path:
    if args.inventory:
        path = Path(args.inventory).expanduser()
        if not path.exists():
            raise UsageError(f"inventory {args.inventory!r} does not exist")
        return path.resolve()
    lab_inventory = paths.lab_dir(args.lab) / "inventory.yml"
    if not lab_inventory.exists():
        raise UsageError(
            f"no inventory given and no lab named {args.lab!r} is up; "
            "pass -i INVENTORY, or start the lab with: swarmctl lab up"
        )
    return lab_inventory


def package_versions(versions: list[str]) -> dict:
    """`--version containerd=1.6.20~ds1-1+deb12u2` (repeated) as {package: version}."""
    wanted = {}
    for item in versions:
        name, sep, version = item.partition("=")
        if not sep or not name.strip() or not version.strip() or " " in item:
            raise UsageError(f"--version takes PACKAGE=VERSION (e.g. containerd=1.6.20~ds1-1+deb12u2, or "
                             f"docker.io=latest), not {item!r}")
        wanted[name.strip()] = version.strip()
    return wanted


def upgrade_vars(versions: list[str], batch: int) -> dict:
    """`--version containerd=1.6.20~ds1-1+deb12u2 --batch 2` as upgrade.yml's variables."""
    if batch < 1:
        raise UsageError(f"--batch takes a number of workers, 1 or more, not {batch}")
    found = {"upgrade_batch": batch}
    if versions:
        found["upgrade_versions"] = package_versions(versions)
    return found


def _service_vars(args) -> list[str]:
    """The service commands' arguments as extra variables for their playbooks."""
    if args.command == "scale":
        scale = {}
        for item in args.assignments:
            name, sep, count = item.partition("=")
            if not sep or not name or not count.isdigit():
                raise UsageError(f"scale takes SERVICE=REPLICAS (e.g. web=6), not {item!r}")
            scale[name] = int(count)
        return [json.dumps({"services_scale": scale})]
    if args.command == "package-bundle":
        found = {"bundle_host": args.bundle_host}
        if args.versions:
            found["bundle_versions"] = package_versions(args.versions)
        if args.bundle_output:
            found["docker_engine_bundle_dir"] = str(Path(args.bundle_output).expanduser().resolve())
        return [json.dumps(found)]
    if args.command == "reconcile":
        return [json.dumps({"reconcile_dry_run": args.dry_run})]
    if args.command == "export":
        output = Path(args.export_output).expanduser().resolve()
        if output.exists():
            raise UsageError(f"--output {args.export_output!r} exists: export writes a new file and never replaces one")
        if not output.parent.is_dir():
            raise UsageError(f"--output {args.export_output!r}: its folder {str(output.parent)!r} does not exist")
        return [json.dumps({"export_file": str(output), "export_services": args.services})]
    if args.command == "backup":
        return [json.dumps({"backup_unavailable_ok": True})] if args.yes else []
    if args.command == "reset":
        return [json.dumps({"reset_engine": args.engine, "reset_registry": args.registry})]
    if args.command == "upgrade":
        return [json.dumps(upgrade_vars(args.versions, args.batch))]
    if args.command == "restore":
        folder = Path(args.restore_from).expanduser().resolve()
        if not (folder / "swarm.tar.gz").is_file():
            raise UsageError(f"{args.restore_from!r} holds no swarm.tar.gz: give a folder written by swarmctl backup "
                             "(credentials/backups/<time> next to the inventory)")
        return [json.dumps({"restore_from": str(folder)})]
    if args.command == "deploy" and (args.stack or args.compose_file):
        if not (args.stack and args.compose_file):
            raise UsageError("--stack NAME and --compose-file FILE go together")
        if args.services:
            raise UsageError("--stack deploys a compose file; name no services with it")
        compose = Path(args.compose_file).expanduser().resolve()
        if not compose.is_file():
            raise UsageError(f"--compose-file {args.compose_file!r}: no such file")
        return [json.dumps({"swarmctl_stacks": [{"name": args.stack, "compose": str(compose)}],
                            "services_stacks_only": True})]
    if args.command == "maintenance":
        import getpass
        import socket
        import time

        since = time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime())
        reason = f"{args.reason} ({getpass.getuser()}@{socket.gethostname()}, {since})"
        return [json.dumps({"maintenance": args.state, "maintenance_reason": reason})]
    found = {}
    if getattr(args, "services", None):
        found["services_only"] = args.services
    if getattr(args, "image", None):
        found["services_image"] = args.image
    return [json.dumps(found)] if found else []


def _image(args, json_mode: bool) -> int:
    from swarmctl.lab import images, recipes
    from swarmctl.lab.lab import docker_client

    wanted = ([("haproxy", recipes.HAPROXY_TAG, recipes.HAPROXY)] if args.name == "haproxy"
              else [(recipes.DEMO_REPOSITORY, tag, r) for tag, r in recipes.DEMO_IMAGES.items()])
    client = docker_client()
    built = [(name, tag, images.ensure_image(client, recipe, log=_log(json_mode))[0]) for name, tag, recipe in wanted]
    archive = Path(args.output).resolve() / f"{args.name}-{built[0][2].split(':')[-1]}.tar"
    images.save_archive(client, [ref for _, _, ref in built], archive)
    entries = [{"name": name, "tag": tag, "archive": str(archive), "source": ref} for name, tag, ref in built]
    if json_mode:
        print(json.dumps({"event": "image", "archive": str(archive), "registry_images": entries}), flush=True)
    else:
        import yaml

        print(f"wrote {archive}; to push it with the next `swarmctl up`, add to your inventory:")
        print(yaml.safe_dump({"registry_images": entries}, sort_keys=False).rstrip())
    return EXIT_OK


def _dashboard(args, json_mode: bool) -> int:
    from swarmctl.dashboard.collector import CollectorError
    from swarmctl.dashboard.server import serve

    try:
        serve(resolve_inventory(args), args.bind, args.port, args.interval, _log(json_mode))
    except CollectorError as exc:
        _error(str(exc), json_mode)
        return EXIT_ERROR
    except OSError as exc:
        _error(f"cannot listen on {args.bind}:{args.port}: {exc}", json_mode)
        return EXIT_ERROR
    return EXIT_OK


def _status(run: PlaybookRun, json_mode: bool) -> int:
    from swarmctl.status import render_status

    result = run_playbook(run, json_mode=False, quiet=True, label="status")
    answers = [(host, res) for task, host, res in result.results if isinstance(res, dict) and "nodes" in res]
    if not answers:
        # Every manager, and why it could not tell: unreachable over SSH, no engine, not in a swarm, a worker...
        why = [f"{host}: {'unreachable over SSH: ' if status == 'unreachable' else ''}{message}"
               for task, host, status, message in result.outcomes if message or status == "unreachable"]
        reasons = why or result.errors or [f"no manager answered ({result.status}); see {result.artifacts}/stdout"]
        _error("cannot read the cluster's status, no manager could tell it:\n  " + "\n  ".join(reasons), json_mode)
        return EXIT_ERROR
    host, res = answers[0]
    status = {"answered_by": host, "nodes": res["nodes"], "services": res["services"],
              "reconciler": res.get("reconciler", {})}
    if json_mode:
        print(json.dumps({"event": "status", **status}), flush=True)
    else:
        print(render_status(status))
    return EXIT_OK


def _playbook(args, json_mode: bool) -> int:
    if getattr(args, "destructive", False) and not args.yes:
        raise UsageError(f"`{args.command}` changes the cluster in a way that is not undone by running again; "
                         "add --yes to confirm")
    extra_vars = list(args.extra_vars)
    if getattr(args, "node_var", None):
        extra_vars.append(json.dumps({args.node_var: args.hosts}))
    extra_vars += _service_vars(args)
    run = PlaybookRun(
        playbook=args.playbook,
        inventory=resolve_inventory(args),
        extra_vars=extra_vars,
        limit=args.limit,
        check=args.check,
        diff=args.diff,
        verbosity=args.verbose,
        tags=args.tags,
    )
    run.check_inputs()
    if getattr(args, "handler", None) == "status":
        return _status(run, json_mode)
    result = run_playbook(run, json_mode=json_mode, label=args.command)
    return result.rc


if __name__ == "__main__":
    sys.exit(main())
