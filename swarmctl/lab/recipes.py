"""The lab's image recipes."""

from __future__ import annotations

from swarmctl.lab.images import Recipe

LAB_USER = "ops"
LAB_UID = 1000

# A fresh Debian 12 server: systemd as PID 1, sshd, python3, sudo. No Docker engine: the toolkit
# installs that, as it does on real machines.
_HOSTKEYS_UNIT = """\
[Unit]
Description=Generate this host's own SSH host keys at first boot
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
"""

# Docker writes a container's /etc/hosts anew at each start, where a real host keeps its own across a reboot
# (and swarmctl maps the registry's name there). A lab host keeps a copy of every change and puts it back at
# boot, before anything reads it.
_HOSTS_DIR = "/var/lib/swarmctl-lab"
_HOSTS_SAVE_PATH = """\
[Unit]
Description=Keep a copy of /etc/hosts across restarts
After=swarmctl-lab-hosts-restore.service

[Path]
PathChanged=/etc/hosts

[Install]
WantedBy=multi-user.target
"""
_HOSTS_SAVE = f"""\
[Unit]
Description=Copy /etc/hosts to {_HOSTS_DIR}/hosts

[Service]
Type=oneshot
ExecStart=/bin/cp /etc/hosts {_HOSTS_DIR}/hosts
"""
_HOSTS_RESTORE = f"""\
[Unit]
Description=Put back the /etc/hosts this host had before it restarted
DefaultDependencies=no
Before=sysinit.target ssh.service
ConditionPathExists={_HOSTS_DIR}/hosts

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'cat {_HOSTS_DIR}/hosts > /etc/hosts'

[Install]
WantedBy=sysinit.target
"""

_SSHD_CONFIG = """\
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UseDNS no
MaxSessions 50
MaxStartups 100:30:200
"""

HOST = Recipe(
    repository="swarmctl/lab-host",
    packages=(
        "systemd",
        "systemd-sysv",
        "dbus",
        "openssh-server",
        "python3",
        "python3-apt",
        "sudo",
        "iproute2",
        "iputils-ping",
        "ca-certificates",
        "procps",
        "curl",
        "less",
    ),
    files=(
        ("/etc/systemd/system/swarmctl-ssh-hostkeys.service", 0o644, _HOSTKEYS_UNIT),
        ("/etc/systemd/system/swarmctl-lab-hosts-save.path", 0o644, _HOSTS_SAVE_PATH),
        ("/etc/systemd/system/swarmctl-lab-hosts-save.service", 0o644, _HOSTS_SAVE),
        ("/etc/systemd/system/swarmctl-lab-hosts-restore.service", 0o644, _HOSTS_RESTORE),
        ("/etc/ssh/sshd_config.d/swarmctl-lab.conf", 0o644, _SSHD_CONFIG),
        ("/etc/sudoers.d/ops", 0o440, f"{LAB_USER} ALL=(ALL) NOPASSWD:ALL\n"),
    ),
    commands=(
        "ln -sf /etc/systemd/system/swarmctl-ssh-hostkeys.service "
        "/etc/systemd/system/multi-user.target.wants/swarmctl-ssh-hostkeys.service",
        f"mkdir -p {_HOSTS_DIR} /etc/systemd/system/sysinit.target.wants",
        "ln -sf /etc/systemd/system/swarmctl-lab-hosts-save.path "
        "/etc/systemd/system/multi-user.target.wants/swarmctl-lab-hosts-save.path",
        "ln -sf /etc/systemd/system/swarmctl-lab-hosts-restore.service "
        "/etc/systemd/system/sysinit.target.wants/swarmctl-lab-hosts-restore.service",
        # Every host makes its own host keys and machine id at first boot.
        "rm -f /etc/ssh/ssh_host_*",
        ": > /etc/machine-id; rm -f /var/lib/dbus/machine-id",
        # No consoles in a container.
        "systemctl mask getty@tty1.service console-getty.service systemd-udevd.service "
        "systemd-udev-trigger.service systemd-modules-load.service >/dev/null 2>&1 || true",
        f"useradd --uid {LAB_UID} --create-home --shell /bin/bash {LAB_USER}",
        f"install -d -m 0700 -o {LAB_UID} -g {LAB_UID} /home/{LAB_USER}/.ssh",
    ),
    changes=('CMD ["/lib/systemd/systemd"]', "ENV container=docker"),
)


# Demo web app: busybox's httpd answering "web <version> on <hostname>", in an image of a few MB
# made from Debian's busybox-static package. The "broken" variant exits at once, for failed updates.
_WEB_START = """\
#!/bin/sh
# Answers every request with the app's version and the name of the container serving it.
set -e
mkdir -p /www
echo "web ${APP_VERSION} on $(hostname)" > /www/index.html
exec httpd -f -p "${PORT:-80}" -h /www
"""

_BROKEN_START = """\
#!/bin/sh
echo "web ${APP_VERSION}: refusing to start: configuration missing" >&2
exit 1
"""


def _web(version: str, start: str) -> Recipe:
    return Recipe(
        repository="swarmctl/demo-web",
        packages=("busybox-static",),
        variant="debs",
        shell="/bin/busybox sh",
        files=(("/app/start.sh", 0o755, start), ("/etc/passwd", 0o644, "root:x:0:0:root:/:/bin/sh\n")),
        commands=("/bin/busybox --install -s /bin", "mkdir -p /tmp && chmod 1777 /tmp"),
        changes=(f"ENV APP_VERSION={version}", 'CMD ["/bin/sh", "/app/start.sh"]', "EXPOSE 80"),
    )


DEMO_IMAGES = {
    # registry tag -> recipe; pushed as <registry>/web:<tag>
    "v1": _web("v1", _WEB_START),
    "v2": _web("v2", _WEB_START),
    "broken": _web("broken", _BROKEN_START),
}
DEMO_REPOSITORY = "web"


# HAProxy from Debian's package, the edge load balancer where the routing mesh cannot balance (no IPVS).
# Its configuration comes from a swarm config at /usr/local/etc/haproxy/haproxy.cfg.
# Only HAProxy, the libraries it loads (`ldd /usr/sbin/haproxy` on bookworm) and busybox for a shell:
# 22.9 MB where a whole Debian root was 166 MB, and every node pulls it and the registry stores it.
HAPROXY = Recipe(
    repository="swarmctl/haproxy",
    packages=("haproxy", "libc6", "libcrypt1", "libssl3", "liblua5.3-0", "libsystemd0", "libpcre2-8-0",
              "libopentracing-c-wrapper0", "libopentracing1", "libcap2", "libgcrypt20", "libgpg-error0", "liblzma5",
              "libzstd1", "liblz4-1", "libstdc++6", "libgcc-s1", "busybox-static"),
    variant="debs",
    shell="/bin/busybox sh",
    files=(("/etc/passwd", 0o644, "root:x:0:0:root:/:/bin/sh\nhaproxy:x:100:100::/var/lib/haproxy:/bin/false\n"),
           ("/etc/group", 0o644, "root:x:0:\nhaproxy:x:100:\n")),
    commands=("/bin/busybox --install -s /bin",
              "mkdir -p /usr/local/etc/haproxy /run/haproxy /var/lib/haproxy /tmp && chmod 1777 /tmp",
              "rm -rf /usr/share/doc /usr/share/man /usr/share/locale /usr/share/lintian /usr/lib/*/gconv"),
    changes=(
        'CMD ["/usr/sbin/haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]',
        "EXPOSE 80",
    ),
)
HAPROXY_TAG = "2.6"

# The demo web service the lab's main job puts online behind the load balancer: 6 replicas, rolled out
# two at a time with a 5 s delay, new tasks started (and healthy) before old ones stop, rolled back on
# failure. `image` is templated by Ansible against the lab's registry name.
DEMO_SERVICE = {
    "name": "web",
    "image": "{{ swarmctl_registry }}/web:v1",
    "replicas": 6,
    # Every check is a `runc exec` on the node: a 1 s interval on 6 replicas keeps a small lab busy.
    "healthcheck": {"test": "wget -q -O /dev/null http://127.0.0.1/", "interval": "3s", "timeout": "2s",
                    "retries": 2, "start_period": "2s"},
    "update_config": {"parallelism": 2, "delay": "5s", "failure_action": "rollback", "monitor": "5s",
                      "order": "start-first"},
    "rollback_config": {"parallelism": 2, "delay": "1s", "failure_action": "pause", "monitor": "2s",
                        "order": "start-first"},
    "stop_grace_period": "2s",
    "expose": {"port": 8080, "target": 80},
}
