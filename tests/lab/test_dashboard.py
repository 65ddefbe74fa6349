"""The dashboard in a real headless browser (Debian's Chromium), against the lab: every node and task is
drawn, and a change in the cluster shows up without a reload. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time

import pytest

from helpers import ROOT
from swarmctl.lab.lab import container_name

pytestmark = pytest.mark.lab
ARTIFACTS = ROOT / "tests" / "artifacts"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def dashboard(converged):
    lab, result, _ = converged
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "swarmctl", "dashboard", "-i", result["inventory"], "--port",
                             str(port)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.3)
    yield lab, f"http://127.0.0.1:{port}/"
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def browser(tmp_path):
    webdriver = pytest.importorskip("selenium.webdriver")
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.fail("Debian's chromium and chromium-driver are needed (scripts/test.sh installs them)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1400,900"):
        options.add_argument(flag)
    session = webdriver.Chrome(service=Service(driver), options=options)
    yield session
    session.quit()


def wait_for(browser, script, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = browser.execute_script(script)
        if value:
            return value
        time.sleep(0.5)
    return browser.execute_script(script)


def test_dashboard_draws_nodes_and_tasks_and_follows_changes_live(dashboard, browser):
    lab, url = dashboard
    browser.get(url)
    nodes = wait_for(browser, "const n = [...document.querySelectorAll('.node')].map(e => e.dataset.node);"
                              "return n.length === 3 ? n : null;")
    assert sorted(nodes) == ["base2", "base3", "base4"]
    web = "return document.querySelectorAll('.task[data-service=web].running').length"
    assert wait_for(browser, f"return ({web.replace('return ', '')}) === 6") is True
    assert browser.execute_script("return document.querySelector('.node.leader').dataset.node") == "base2"
    versions = browser.execute_script(
        "return [...new Set([...document.querySelectorAll('.task[data-service=web]')].map(e => e.dataset.version))]")
    assert versions == ["v1"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "dashboard.png"))
    marker = browser.execute_script("window.__no_reload = 42; return window.__no_reload")

    def docker(*argv):
        subprocess.run(["docker", "exec", container_name(lab.name, "base2"), "docker", *argv], check=True,
                       stdout=subprocess.DEVNULL)

    # A change in the cluster: another service, another version, appears without a reload.
    docker("service", "create", "--detach", "--with-registry-auth", "--name", "dash-probe", "--replicas", "2",
           "westos.org/web:v2")
    try:
        probe = "return document.querySelectorAll('.task[data-service=dash-probe][data-version=v2].running').length"
        assert wait_for(browser, f"return ({probe.replace('return ', '')}) === 2", 90) is True
        assert browser.execute_script("return window.__no_reload") == marker, "the page did not reload"
        colors = browser.execute_script(
            "return [...new Set([...document.querySelectorAll('.task')].map(e => e.style.background))].length")
        assert colors >= 3, "edge-lb, web v1 and dash-probe v2 are told apart"
        browser.save_screenshot(str(ARTIFACTS / "dashboard-changed.png"))
    finally:
        docker("service", "rm", "dash-probe")
    assert wait_for(browser, "return document.querySelectorAll('.task[data-service=dash-probe]').length === 0", 90)


def test_the_dashboard_answers_only_to_its_own_address(dashboard):
    """A page of another site can make a browser ask the dashboard under its own name (DNS rebinding): such a
    request names that site in its Host header and is refused."""
    import http.client
    from urllib.parse import urlsplit

    _, url = dashboard
    port = urlsplit(url).port
    for host, status in ((f"127.0.0.1:{port}", 200), (f"localhost:{port}", 200), ("attacker.example", 421)):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/api/state", headers={"Host": host})
        assert conn.getresponse().status == status, host
        conn.close()
