"""Fixtures that run the real `kamino` binary on 127.0.0.1 with an ephemeral port and a
temporary data directory, and stop it by pid.

The binary is `$KAMINO_BIN`, else `kamino` in `swift build --show-bin-path` of the
repository (built by `swift build --product kamino`).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
try:
    import kamino  # noqa: F401 (the installed package, as scripts/test-python runs it)
except ImportError:  # run from the checkout without installing: use its sources
    if os.environ.get("KAMINO_PYTHON_INSTALLED"):  # scripts/test-python installed it: a failure
        raise
    sys.path.insert(0, str(REPO / "clients" / "python" / "src"))

_LISTENING = re.compile(r"^listening on (\S+):(\d+)$", re.M)


def kamino_binary() -> str:
    """The path of the `kamino` executable under test."""
    env = os.environ.get("KAMINO_BIN")
    if env:
        return env
    try:
        bin_dir = subprocess.run(["swift", "build", "--show-bin-path"], cwd=REPO, capture_output=True, text=True,
                                 timeout=120, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError) as e:
        pytest.fail(f"set KAMINO_BIN: `swift build --show-bin-path` failed: {e}")
    path = os.path.join(bin_dir, "kamino")
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is missing: run `swift build --product kamino` or set KAMINO_BIN")
    return path


class Server:
    """A `kamino serve` (or `follow`) process with its own data directory."""

    def __init__(self, binary: str, workdir: str, args: list[str] | None = None, command: str = "serve") -> None:
        self.binary = binary
        self.workdir = workdir
        self.data = os.path.join(workdir, "data")
        self.args = args or []
        self.command = command
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.log_path = os.path.join(workdir, "server.log")

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> "Server":
        """Starts the server (on its previous port after the first start) and waits for
        its `listening on` line."""
        log = open(self.log_path, "a")
        offset = log.tell()
        argv = [self.binary, self.command, "--data", self.data, "--listen", f"127.0.0.1:{self.port}",
                "--metrics", "off", *self.args]
        # cwd is the temporary directory, so no config/kamino.toml is picked up.
        env = {k: v for k, v in os.environ.items() if not k.startswith("KAMINO_")}
        self.process = subprocess.Popen(argv, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.log_path) as f:
                f.seek(offset)
                m = _LISTENING.search(f.read())
            if m:
                self.port = int(m.group(2))
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"kamino exited with {self.process.returncode}:\n{self.output()}")
            time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"kamino did not announce its port within {timeout} s:\n{self.output()}")

    def wait_for(self, pattern: str, timeout: float = 20) -> re.Match:
        """The first match of `pattern` (multi-line) in the server's output, waiting for it."""
        deadline = time.monotonic() + timeout
        while True:
            with open(self.log_path, errors="replace") as f:
                m = re.search(pattern, f.read(), re.M)
            if m:
                return m
            if time.monotonic() > deadline:
                raise AssertionError(f"no {pattern!r} in the server's output:\n{self.output()}")
            time.sleep(0.02)

    def output(self) -> str:
        with open(self.log_path, errors="replace") as f:
            return f.read()[-4000:]

    def stop(self, timeout: float = 20) -> int | None:
        """SIGTERM, then wait; SIGKILL if it does not exit in time. Returns the exit code."""
        p = self.process
        if p is None or p.poll() is not None:
            return None if p is None else p.returncode
        p.send_signal(signal.SIGTERM)
        try:
            return p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self) -> None:
        """SIGKILL and reap."""
        p = self.process
        if p is not None and p.poll() is None:
            p.kill()
            p.wait()

    def pause(self, timeout: float = 10) -> None:
        """SIGSTOP, and waits until every thread of the server is stopped (kill returns
        before the stop takes hold): the server then answers nothing, while its sockets
        still accept bytes."""
        assert self.process is not None
        pid = self.process.pid
        os.kill(pid, signal.SIGSTOP)
        deadline = time.monotonic() + timeout
        while not all(_thread_state(pid, t) in ("T", "t", "X", "Z", None) for t in os.listdir(f"/proc/{pid}/task")):
            assert time.monotonic() < deadline, "the server did not stop"
            time.sleep(0.005)

    def resume(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)


def _thread_state(pid: int, tid: str) -> str | None:
    """The state letter of one thread (`T` when stopped), None if it is gone."""
    try:
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


@pytest.fixture(scope="session")
def binary() -> str:
    return kamino_binary()


@pytest.fixture
def new_server(binary):
    """A factory of servers, each in its own temporary directory; all stopped at the end."""
    started: list[Server] = []
    dirs: list[str] = []

    def make(args: list[str] | None = None, command: str = "serve", start: bool = True) -> Server:
        d = tempfile.mkdtemp(prefix="kamino-py-")
        dirs.append(d)
        s = Server(binary, d, args, command)
        started.append(s)
        return s.start() if start else s

    yield make
    for s in reversed(started):
        if s.process is not None and s.process.poll() is None:
            try:
                s.resume()
            except ProcessLookupError:
                pass
        s.kill()
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def server(binary):
    """One server shared by a test module (tests use fresh ids)."""
    d = tempfile.mkdtemp(prefix="kamino-py-")
    s = Server(binary, d).start()
    yield s
    s.stop()
    shutil.rmtree(d, ignore_errors=True)

