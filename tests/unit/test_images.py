from dataclasses import replace

from swarmctl.lab import recipes
from swarmctl.lab.images import parse_apt_sources

DEB822 = """\
Types: deb
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
"""


def test_deb822_sources():
    assert parse_apt_sources([DEB822]) == ("http://mirror.example/debian", "http://mirror.example/debian-security")


def test_one_line_sources():
    text = "# comment\ndeb http://a.example/debian bookworm main\ndeb http://s.example/ds bookworm-security main\n"
    assert parse_apt_sources([text]) == ("http://a.example/debian", "http://s.example/ds")


def test_no_sources():
    assert parse_apt_sources(["deb http://x/ubuntu jammy main"]) == (None, None)


def test_recipe_tag_follows_the_recipe():
    host = recipes.HOST
    assert host.reference == f"swarmctl/lab-host:{host.tag}" and len(host.tag) == 12
    assert replace(host, packages=host.packages + ("vim",)).tag != host.tag
    assert replace(host, commands=host.commands + ("true",)).tag != host.tag
    # Package order is not part of the recipe's meaning.
    assert replace(host, packages=tuple(reversed(host.packages))).tag == host.tag


def test_host_recipe_has_no_docker_engine():
    assert not any("docker" in p for p in recipes.HOST.packages)
    assert "openssh-server" in recipes.HOST.packages and "python3" in recipes.HOST.packages
