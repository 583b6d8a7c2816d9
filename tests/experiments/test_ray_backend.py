"""The `ray` backend: the same cells as `serial` bit for bit, on a Ray instance the run
starts itself (127.0.0.1 only, stopped at the end, resumable after an interruption) and
on a separate local cluster started with `ray start --head` (reached with `--address`),
and a one-line error naming the extra when Ray is missing."""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from defendability.errors import UserError
from defendability.experiments.config import load_config
from defendability.experiments.runner import run_sweep
from defendability.experiments.store import ResultsStore, without_timing

HAVE_RAY = importlib.util.find_spec("ray") is not None
needs_ray = pytest.mark.skipif(not HAVE_RAY, reason="Ray is not installed (pip install 'defendability[ray]'); "
                                                    "`make test` installs it")
needs_linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads sockets from /proc")

TINY = """\
name = "tiny"
seed = 5
rounds = 90
chunk_rounds = 20
class = "subsets:N=16,d=4"
defender = "{defender}"
eps = 0.1

[grid]
attacker = ["mixture", "shatter"]
"""


def write_config(tmp_path: Path, defender: str = "vote:learner=closure") -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY.format(defender=defender))
    return path


def rows(directory: Path) -> list[dict]:
    with ResultsStore(directory / "results.sqlite", readonly=True) as store:
        return sorted((without_timing(r) for r in store.cells()), key=lambda r: r["cell_id"])


# -- which addresses processes listen on (Linux /proc) -------------------------------------

def descendants(pid: int) -> set[int]:
    """``pid`` and every process below it."""
    parent: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = {pid}, [pid]
    while frontier:
        p = frontier.pop()
        for child, ppid in parent.items():
            if ppid == p and child not in found:
                found.add(child)
                frontier.append(child)
    return found


def listening_addresses(pids: set[int]) -> set[str]:
    """The local addresses of the TCP sockets in LISTEN state held by ``pids``."""
    inodes = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
        except OSError:
            continue
    out = set()
    for table, width in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A" or fields[9] not in inodes:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(fields[1].split(":")[0])
            # /proc prints each 32-bit word in host (little-endian) order
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, width, 4))
            out.add(str(ipaddress.ip_address(raw)))
    return out


def is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.is_loopback or (ip.version == 6 and ip.ipv4_mapped is not None and ip.ipv4_mapped.is_loopback)


# -- tests ----------------------------------------------------------------------------------

def test_missing_ray_is_a_one_line_user_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    config = load_config(write_config(tmp_path))
    with pytest.raises(UserError) as err:
        run_sweep(config, backend="ray", root=tmp_path / "runs", progress=False)
    assert str(err.value) == ("the ray backend needs Ray, which is not installed: "
                              "pip install 'defendability[ray]'")
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("address,fragment", [
    ("", "Ray address '' is not 'auto' or host:port"),
    ("nohost", "Ray address 'nohost' is not 'auto' or host:port"),
])
@needs_ray
def test_bad_addresses_are_user_errors(tmp_path, address, fragment):
    config = load_config(write_config(tmp_path))
    with pytest.raises(UserError, match=fragment):
        run_sweep(config, backend="ray", address=address, root=tmp_path / "runs", progress=False)


class Stop(Exception):
    pass


@needs_ray
@needs_linux
def test_local_instance_matches_serial_listens_on_loopback_and_resumes(tmp_path, monkeypatch):
    import ray

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    config = load_config(write_config(tmp_path))
    run_sweep(config, backend="serial", root=tmp_path / "serial", progress=False)

    listening: set[str] = set()
    played = []

    def interrupt(res) -> None:  # look at the sockets while Ray runs, then stop the run
        listening.update(listening_addresses(descendants(os.getpid())))
        played.append(res)
        if len(played) == 3:
            raise Stop

    with pytest.raises(Stop):
        run_sweep(config, backend="ray", workers=2, root=tmp_path / "ray", progress=False, on_chunk=interrupt)
    assert not ray.is_initialized()  # the run started its instance, so it stopped it
    assert listening and all(is_loopback(a) for a in listening), listening
    with ResultsStore(tmp_path / "ray" / "tiny" / "results.sqlite", readonly=True) as store:
        assert len(store.chunks()) + 5 * len(store.finished_cells()) == 3  # 5 chunks per cell
        # which 3 finished first is Ray's choice: a cell's last chunk has 10 rounds, not 20,
        # and the 3 may hold none, one or both of the two cells' last chunks
        kept = sum(c["stop"] - c["start"] for c in store.chunks()) + 90 * len(store.finished_cells())

    summary = run_sweep(config, backend="ray", workers=2, root=tmp_path / "ray", progress=False)
    assert summary.complete and summary.backend == "ray" and summary.workers == 2
    assert summary.chunks_played == 10 - 3 and summary.rounds_played == 180 - kept and kept in (40, 50, 60)
    assert not ray.is_initialized()
    assert rows(tmp_path / "ray" / "tiny") == rows(tmp_path / "serial" / "tiny")
    log = (tmp_path / "ray" / "tiny" / "run.log").read_text()
    assert "backend ray x2" in log and "stopped after" in log and "2/2 cells done" in log


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ray_cluster(tmp_path):
    """A Ray head node on 127.0.0.1 in its own process group (``ray start --head --block``),
    with token authentication; yields ``(address, env, process)``, where ``env`` is what
    a driver needs to reach it. Torn down by ending that process group only (``ray stop``
    would stop every Ray instance of this user on the machine)."""
    port = free_port()
    token = tmp_path / "auth_token"
    token.write_text(secrets.token_hex(32))
    # RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0: Ray's single-machine mode, in which it keeps
    # --node-ip-address=127.0.0.1 instead of replacing it by the outward IP.
    # RAY_TMPDIR: a private temp folder (short: Ray's socket paths must stay under 108
    # bytes), so the address file `ray start` writes (read by --address auto) is this
    # cluster's only, and a cluster of the user's, or a stale file, is never picked up.
    ray_tmp = tempfile.mkdtemp(prefix="dray")
    env = dict(os.environ, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token),
               RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0", RAY_TMPDIR=ray_tmp)
    env.pop("RAY_ADDRESS", None)
    ray_cli = Path(sys.executable).with_name("ray")
    out = tmp_path / "ray-start.log"
    with open(out, "w") as fh:
        proc = subprocess.Popen([str(ray_cli), "start", "--head", "--block", "--node-ip-address=127.0.0.1",
                                 f"--port={port}", "--include-dashboard=false", "--num-cpus=2", "--disable-usage-stats"],
                                stdout=fh, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        # A head node starts in seconds; the deadline only stops a start that hangs.
        deadline = time.monotonic() + 300
        while "Ray runtime started" not in out.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"ray start --head did not start:\n{out.read_text()[-3000:]}")
            time.sleep(0.2)
        yield f"127.0.0.1:{port}", env, proc
    finally:
        if proc.poll() is None:
            proc.terminate()  # `ray start --block` drains its node and stops its processes
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever of the group is left
        except ProcessLookupError:
            pass
        shutil.rmtree(ray_tmp, ignore_errors=True)


@needs_ray
@needs_linux
def test_existing_cluster_on_loopback_matches_serial(tmp_path, ray_cluster):
    address, env, proc = ray_cluster
    cluster_listens = listening_addresses(descendants(proc.pid))
    assert cluster_listens and all(is_loopback(a) for a in cluster_listens), cluster_listens

    config_path = write_config(tmp_path, defender="boltzmann")
    run_sweep(load_config(config_path), backend="serial", root=tmp_path / "serial", progress=False)
    # through the command line, in a fresh process (as a user would)
    out = subprocess.run([sys.executable, "-m", "defendability.cli", "run", str(config_path), "--backend", "ray",
                          "--address", address, "--root", str(tmp_path / "ray")],
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "tiny: 2/2 cells done (2 now, 0 before); 180 rounds in 10 chunks" in out.stdout
    assert "backend ray x2" in out.stdout  # the cluster's 2 CPUs
    assert rows(tmp_path / "ray" / "tiny") == rows(tmp_path / "serial" / "tiny")
    assert proc.poll() is None  # a cluster the run did not start keeps running


@needs_ray
@needs_linux
def test_address_auto_finds_the_started_cluster(tmp_path, ray_cluster):
    """``--address auto``, the issue's command: the cluster `ray start` recorded."""
    address, env, proc = ray_cluster
    config_path = write_config(tmp_path)
    run_sweep(load_config(config_path), backend="serial", root=tmp_path / "serial", progress=False)
    out = subprocess.run([sys.executable, "-m", "defendability.cli", "run", str(config_path), "--backend", "ray",
                          "--address", "auto", "--root", str(tmp_path / "ray")],
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert f"the Ray cluster at {address}" in (tmp_path / "ray" / "tiny" / "run.log").read_text()
    assert rows(tmp_path / "ray" / "tiny") == rows(tmp_path / "serial" / "tiny")
    assert proc.poll() is None


@needs_ray
def test_an_address_nothing_listens_on_is_refused_at_once(tmp_path):
    """A stopped cluster (or a typo) is one line in seconds, not Ray's minutes of retries;
    ``auto`` with no cluster recorded names what to do."""
    import ray  # noqa: F401 - imported before the clock starts: what is timed is the refusal, not Ray's import

    config_path = write_config(tmp_path)
    config = load_config(config_path)
    port = free_port()  # closed again: nothing listens there
    started = time.monotonic()
    with pytest.raises(UserError, match=f"no Ray cluster answers at 127.0.0.1:{port}"):
        run_sweep(config, backend="ray", address=f"127.0.0.1:{port}", root=tmp_path, progress=False)
    # A refused connection answers in milliseconds (the check gives up after 5 s even
    # when nothing answers at all), while Ray itself retries for minutes (more than five
    # with Ray 2.60): 30 s separates the two with a wide margin on either side.
    assert time.monotonic() - started < 30
    ray_tmp = tmp_path / "no-ray"
    ray_tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    out = subprocess.run([sys.executable, "-m", "defendability.cli", "run", str(config_path), "--backend", "ray",
                          "--address", "auto", "--root", str(tmp_path / "auto")],
                         capture_output=True, text=True, env=dict(env, RAY_TMPDIR=str(ray_tmp)), timeout=600)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and ("found no running Ray cluster" in out.stderr
                                            or "no Ray cluster answers" in out.stderr), out.stderr
