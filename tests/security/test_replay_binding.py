"""The replay server listens on 127.0.0.1 only: its socket, its URL, and refused connections on every other address.

127.0.0.2 is a loopback address too (all of 127/8 is, on Linux), so it reaches this machine on every host: a
server bound to 0.0.0.0 answers there, one bound to 127.0.0.1 does not. The machine's other IPv4 addresses (its
network interfaces) and ::1 are tried as well.
"""

from __future__ import annotations

import errno
import json
import socket
import subprocess
import sys
import urllib.request
from urllib.parse import urlsplit

from crawler.replay import ReplayServer
from jobtrend.config import REPO_ROOT
from tests.crawler.conftest import REPLAY


def other_addresses() -> list[str]:
    """IPv4 addresses of this machine other than 127.0.0.1: 127.0.0.2 always, and the interfaces' addresses."""
    found = {"127.0.0.2"}
    try:
        listing = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True).stdout
    except FileNotFoundError:  # no iproute2: 127.0.0.2 alone still tells 127.0.0.1 from every address
        listing = ""
    for line in listing.splitlines():  # "2: eth0    inet 10.1.2.3/24 brd ..."
        words = line.split()
        if "inet" in words:
            found.add(words[words.index("inet") + 1].split("/")[0])
    found.discard("127.0.0.1")
    return sorted(found)


def refused(host: str, port: int, family: int = socket.AF_INET) -> bool:
    """True when nothing accepts a TCP connection to host:port."""
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        try:
            sock.connect((host, port))
        except OSError as exc:  # refused; or for ::1, no IPv6 loopback at all
            return exc.errno in (errno.ECONNREFUSED, errno.EADDRNOTAVAIL, errno.ENETUNREACH, errno.EAFNOSUPPORT)
        return False


def test_the_server_socket_and_url_are_on_127_0_0_1():
    with ReplayServer(REPLAY) as server:
        host, port = server._httpd.socket.getsockname()[:2]
        assert (host, server._httpd.socket.family) == ("127.0.0.1", socket.AF_INET)
        parts = urlsplit(server.url)
        assert (parts.scheme, parts.hostname, parts.port) == ("http", "127.0.0.1", port)
        with urllib.request.urlopen(f"{server.url}/robots.txt", timeout=5) as response:  # it does answer there
            assert response.status == 200


def test_no_other_address_of_the_machine_reaches_it():
    addresses = other_addresses()
    assert "127.0.0.2" in addresses
    with ReplayServer(REPLAY) as server:
        port = server._httpd.socket.getsockname()[1]
        reached = [a for a in addresses if not refused(a, port)]
        assert not reached, f"the replay server answered on {reached}"
        assert refused("::1", port, socket.AF_INET6)


def test_the_check_would_see_a_server_on_every_address():
    """The same probe against a server bound to 0.0.0.0 connects on 127.0.0.2: the test above can fail."""
    with socket.socket() as listener:
        listener.bind(("0.0.0.0", 0))  # noqa: S104 - on purpose: the contrast case
        listener.listen(1)
        assert not refused("127.0.0.2", listener.getsockname()[1])


def test_python_m_crawler_replay_serves_on_127_0_0_1():
    """The command-line server (used by hand and by the docs) prints and binds a 127.0.0.1 URL."""
    with subprocess.Popen([sys.executable, "-m", "crawler.replay", str(REPLAY)], cwd=REPO_ROOT,
                          stdout=subprocess.PIPE, text=True) as proc:
        try:
            line = proc.stdout.readline()  # "replaying ... at http://127.0.0.1:PORT (Ctrl-C to stop)"
            url = line.split(" at ")[1].split()[0]
            parts = urlsplit(url)
            assert parts.hostname == "127.0.0.1"
            with urllib.request.urlopen(f"{url}/posting-api/job-board/SecondDinner", timeout=5) as response:
                assert json.loads(response.read())["jobs"]
            assert refused("127.0.0.2", parts.port)
        finally:
            proc.terminate()
            proc.wait(timeout=10)

