# Docker SDK access shared by swarmctl's host-side modules. Hosts run their distribution's SDK
# (Debian 12: python3-docker 5.0.3), so only APIs present there are used. The SDK is imported only
# when a module really talks to the engine: importing it costs more than most no-change runs do.

from __future__ import annotations

import traceback

from ansible.module_utils.basic import missing_required_lib

DOCKER_COMMON_ARGS = dict(
    docker_host=dict(type="str", default="unix:///var/run/docker.sock"),
    timeout=dict(type="int", default=120),
)


class _Errors:
    """docker.errors, loaded on first use; before that, nothing can raise them anyway."""

    def __getattr__(self, name):
        try:
            from docker import errors
        except ImportError:
            return type(name, (Exception,), {})
        return getattr(errors, name)


errors = _Errors()


def docker_client(module):
    """A client for the local engine, or a failure that says how to get one."""
    try:
        import docker
    except ImportError:
        module.fail_json(
            msg=missing_required_lib("docker (the Docker SDK for Python: apt-get install python3-docker)"),
            exception=traceback.format_exc(),
        )
    url = module.params["docker_host"]
    try:
        client = docker.DockerClient(base_url=url, version="auto", timeout=module.params["timeout"])
        client.ping()
    except docker.errors.DockerException as exc:
        module.fail_json(msg=f"cannot reach the Docker engine at {url}: {exc}. "
                             "Is it running? (systemctl status docker)")
    return client


def api_error_text(exc) -> str:
    """The engine's own words for an API error, without the SDK's wrapping."""
    explanation = getattr(exc, "explanation", None)
    if explanation:
        return explanation.decode() if isinstance(explanation, bytes) else str(explanation)
    return str(exc)
