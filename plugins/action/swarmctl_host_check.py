"""swarmctl_host_check: reach a host, gather its facts when the cache has none for it, record the address
it uses for swarm traffic, refuse hosts swarmctl cannot provision, and on request ask its engine where it stands
in a swarm - one task per host instead of five (documentation: plugins/modules/swarmctl_host_check.py)."""

from __future__ import annotations

import ipaddress
import shlex

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_host import (
    DEBIAN_ENGINE,
    DOCKERD_PATHS,
    NO_PACKAGE,
    own_engine,
)
from ansible_collections.swarmctl.swarm.plugins.plugin_utils.swarmctl_action import (
    RUNNER_KEY, run_command_then_module, run_module)

ARGUMENT_SPEC = dict(
    gather_subset=dict(type="list", elements="str", default=[]),
    refresh=dict(type="bool", default=False),
    supported_os_families=dict(type="list", elements="str", required=True),
    advertise_addr=dict(type="str"),
    packages=dict(type="list", elements="str", default=[]),
    swarm=dict(type="bool", default=False),
)

# What swarmctl_swarm_info answers (without join tokens or keys), returned as it returns them.
SWARM_KEYS = ("local", "swarm", "quorum", RUNNER_KEY)
SWARM_INFO_ARGS = {"engine_missing_ok": True}


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def needs_gathering(facts: dict, ansible_host: str, refresh: bool) -> bool:
    """No cached facts, a refresh asked for, or cached facts of another host that had this name (they do not
    know the host's inventory address: another inventory, a recreated lab)."""
    if refresh or "distribution" not in facts:
        return True
    return _is_ip(ansible_host) and ansible_host not in facts.get("all_ipv4_addresses", [])


def node_address(facts: dict, ansible_host: str, advertise_addr: str | None) -> str:
    """swarmctl_advertise_addr, else the inventory address when the host owns it, else the address of its
    default route (the inventory address is then a NAT or a name)."""
    if advertise_addr:
        return advertise_addr
    if ansible_host in facts.get("all_ipv4_addresses", []):
        return ansible_host
    return facts.get("default_ipv4", {}).get("address", "")


def unsupported(facts: dict, families: list[str]) -> str | None:
    if facts.get("os_family") in families and facts.get("service_mgr") == "systemd":
        return None
    return (f"not a Debian/Ubuntu system with systemd (it runs {facts.get('distribution', 'an unknown system')} with "
            f"{facts.get('service_mgr', 'an unknown service manager')}). swarmctl installs the Docker engine from "
            "Debian/Ubuntu packages and manages it with systemd.")


# The facts swarmctl reads of a host, from the same shell command (no Python, no setup module): os-release's ID
# and ID_LIKE, its node name (the one its engine gives its swarm node), whether systemd manages the host, its
# IPv4 addresses and the route it would take outside (the same question Ansible's network facts ask).
FACTS_QUERY = (
    'echo "fact os ${ID:-unknown} ${ID_LIKE:-}"; echo "fact nodename $(uname -n)"; '
    'if [ -d /run/systemd/system ]; then echo "fact service_mgr systemd"; '
    'else echo "fact service_mgr $(cat /proc/1/comm 2>/dev/null || echo unknown)"; fi; '
    'ip -4 -o addr show 2>/dev/null | while read -r n dev fam addr rest; do echo "fact ipv4 $dev $addr"; done; '
    'echo "fact route $(ip -4 route get 8.8.8.8 2>/dev/null | head -n 1)"; '
)


# The package the host's dockerd comes from, as swarmctl_host.engine_owner asks it in Python: the first of
# DOCKERD_PATHS that exists, and dpkg's owner of it ("-" for none).
ENGINE_QUERY = (
    f'for e in {" ".join(DOCKERD_PATHS)}; do if [ -e "$e" ]; then '
    'o=$(dpkg-query -S "$e" 2>/dev/null | cut -d: -f1 | head -n 1); echo "engine ${o:--}"; break; fi; done; '
)


def host_query(packages: list[str], facts: bool = False) -> str:
    """One shell command (no Python needed) that prints the host's platform, the package of its engine and the
    state of each package, and with facts, what parse_host_facts reads."""
    names = " ".join(shlex.quote(name) for name in packages)
    query = f"; dpkg-query -W -f='package ${{Package}} ${{db:Status-Status}}\\n' {names} 2>/dev/null" if packages else ""
    return ('. /etc/os-release 2>/dev/null; arch=$(dpkg --print-architecture 2>/dev/null || uname -m); '
            f'{FACTS_QUERY if facts else ""}{ENGINE_QUERY}'
            f'echo "platform ${{ID:-unknown}}-${{VERSION_ID:-unknown}}-$arch"{query}; true')


def parse_host_query(text: str, packages: list[str]) -> tuple[str, list[str]]:
    """(platform, the packages of the list not installed) from host_query's output. Debian's docker.io is not
    missing on a host whose engine is its own (another package, or none): it is never installed over that."""
    platform, installed = "unknown", set()
    owner = parse_engine_owner(text)
    for line in text.splitlines():
        words = line.split()
        if len(words) == 2 and words[0] == "platform":
            platform = words[1]
        elif len(words) == 3 and words[0] == "package" and words[2] == "installed":
            installed.add(words[1])
    return platform, [name for name in packages if name not in installed
                      and not (own_engine(owner) and name == DEBIAN_ENGINE)]


def parse_engine_owner(text: str) -> str:
    """The package of the host's dockerd from host_query's output, as engine_owner answers it ("" for none)."""
    for line in text.splitlines():
        words = line.split()
        if len(words) == 2 and words[0] == "engine":
            return NO_PACKAGE if words[1] == "-" else words[1]
    return ""


# os-release IDs (ID, or one of ID_LIKE) and the os_family Ansible gives them.
_FAMILIES = {"debian": "Debian", "ubuntu": "Debian", "rhel": "RedHat", "fedora": "RedHat", "centos": "RedHat",
             "suse": "Suse", "arch": "Archlinux", "alpine": "Alpine"}


def parse_host_facts(text: str) -> dict:
    """The facts swarmctl reads, named as Ansible's setup module names them (distribution, os_family, nodename,
    hostname, service_mgr, all_ipv4_addresses, default_ipv4), from host_query's output with facts."""
    facts = {"distribution": "unknown", "os_family": "unknown", "service_mgr": "unknown", "all_ipv4_addresses": [],
             "default_ipv4": {}}
    for line in text.splitlines():
        words = line.split()
        if len(words) < 2 or words[0] != "fact":
            continue
        kind, values = words[1], words[2:]
        if kind == "os" and values:
            facts["distribution"] = values[0].capitalize()
            facts["os_family"] = next((_FAMILIES[i] for i in values if i in _FAMILIES), values[0].capitalize())
        elif kind == "nodename" and values:
            facts["nodename"], facts["hostname"] = values[0], values[0].split(".")[0]
        elif kind == "service_mgr" and values:
            facts["service_mgr"] = values[0]
        elif kind == "ipv4" and len(values) == 2 and not values[1].startswith("127."):
            facts["all_ipv4_addresses"].append(values[1].split("/")[0])
        elif kind == "route" and "src" in values[:-1]:  # "8.8.8.8 via GW dev IF src ADDR uid 0"
            facts["default_ipv4"] = {"address": _word_after(values, "src"), "interface": _word_after(values, "dev"),
                                     "gateway": _word_after(values, "via")}
    return facts


def _word_after(words: list[str], word: str) -> str:
    return words[words.index(word) + 1] if word in words[:-1] else ""


def _namespaced(facts: dict) -> dict:
    """Facts as setup returns them (ansible_distribution) to the names ansible_facts uses (distribution)."""
    return {key[len("ansible_"):] if key.startswith("ansible_") else key: value for key, value in facts.items()}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)

        ansible_host = str(task_vars.get("ansible_host") or "")
        facts = dict(task_vars.get("ansible_facts") or {})
        gather = needs_gathering(facts, ansible_host, args["refresh"])
        query = host_query(args["packages"], facts=gather)
        # No Python on the host for the query: a connection failure makes the host unreachable, as with raw. The
        # engine, when asked, is asked in the same exec (one round trip per host) unless the setup module runs.
        answer = None
        if args["swarm"] and not (gather and args["gather_subset"]):
            reached, answer = run_command_then_module(self, query, "swarmctl_swarm_info", SWARM_INFO_ARGS, task_vars)
        else:
            reached = self._low_level_execute_command(query)
        if reached.get("rc") != 0:
            raise AnsibleActionFail(f"the host answers over SSH but cannot run a command: "
                                    f"{(reached.get('stderr') or reached.get('stdout') or '').strip()}")

        new_facts = {}
        if gather:
            new_facts = parse_host_facts(reached.get("stdout", ""))
            if args["gather_subset"]:  # Ansible's own facts as well, for the user's roles
                setup = self._execute_module(module_name="ansible.builtin.setup",
                                             module_args={"gather_subset": args["gather_subset"]}, task_vars=task_vars)
                if setup.get("failed"):
                    raise AnsibleActionFail(f"gathering facts failed: {setup.get('msg', setup)}")
                new_facts.update(_namespaced(setup["ansible_facts"]))
            facts.update(new_facts)
        result["gathered"] = gather

        problem = unsupported(facts, args["supported_os_families"])
        if problem:
            raise AnsibleActionFail(f"{task_vars.get('inventory_hostname')}: {problem}")
        address = node_address(facts, ansible_host, args["advertise_addr"])
        # Host facts go to the fact cache, so runs limited to some hosts still know the others' addresses.
        result["ansible_facts"] = dict(new_facts, swarmctl_node_address=address)
        result["platform"], result["missing_packages"] = parse_host_query(reached.get("stdout", ""), args["packages"])
        result["engine_package"] = parse_engine_owner(reached.get("stdout", ""))
        if args["swarm"]:
            if answer is None:
                answer = run_module(self, "swarmctl_swarm_info", SWARM_INFO_ARGS, task_vars)
            if answer.get("failed"):
                raise AnsibleActionFail(f"{task_vars.get('inventory_hostname')}: asking its Docker engine where it "
                                        f"stands in a swarm failed: {answer.get('msg')}")
            result.update((key, answer[key]) for key in SWARM_KEYS if key in answer)
        result["changed"] = False
        return result
