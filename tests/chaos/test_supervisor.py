"""`make dev`'s process manager: a killed worker is started again and the pipeline completes.

Runs scripts/supervise.py (supervisor over the Procfile) for the worker
lines, against the chaos Redis and the test database.
"""

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
import termios
import time

import pytest

from orders.models import Order
from project.celery import app as celery_app
from tests.chaos.test_crashes import assert_done_exactly_once, place_order, wait_until_done
from tests.helpers import wait_for
from tests.processes import ROOT

pytestmark = pytest.mark.worker

# The pipeline's queues (checkout publishes on commit, so no relay is needed).
WORKERS = ["worker_payments", "worker_emails", "worker_reports"]


class Supervisor:
    def __init__(self, env, directory):
        self.env = env
        self.directory = directory
        directory.mkdir(exist_ok=True)
        self.log = directory / "supervise.log"
        self.process = None

    def start(self):
        concurrency = {f"{n.split('_')[1].upper()}_CONCURRENCY": "1" for n in WORKERS}
        self.process = subprocess.Popen(
            [sys.executable, "scripts/supervise.py", "--dir", str(self.directory),
             "--only", *WORKERS],
            cwd=ROOT, env={**self.env, **concurrency},
            stdout=self.log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        return self

    def ctl(self, *args) -> str:
        conf = str(self.directory / "supervisord.conf")
        return subprocess.run(
            [sys.executable, "-m", "supervisor.supervisorctl", "-c", conf, *args],
            capture_output=True, text=True, timeout=30, check=False,
        ).stdout  # fmt: skip

    def pid(self, name) -> int:
        answer = self.ctl("pid", f"orderly:{name}").strip()
        return int(answer) if answer.isdigit() else 0

    def stop(self):
        pids = [self.pid(name) for name in WORKERS]
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # Ctrl-C
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
        for pid in filter(None, pids):  # anything left behind, group and all
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        return self.process.returncode

    def logs(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]


@pytest.fixture
def supervisor(chaos, tmp_path):
    running = Supervisor(chaos.env(), tmp_path / "supervisor").start()
    yield running
    running.stop()


def answers(hostname: str) -> bool:
    try:
        return bool(celery_app.control.ping(destination=[hostname], timeout=0.5))
    except OSError:
        return False


def test_supervisor_restarts_a_killed_worker_and_the_pipeline_completes(client, chaos, supervisor):
    payments = f"payments@{socket.gethostname()}"
    wait_for(lambda: answers(payments), timeout=90, what="the supervised payments worker",
             diagnostics=supervisor.logs)  # fmt: skip
    old_pid = supervisor.pid("worker_payments")

    os.kill(old_pid, signal.SIGKILL)  # the main process, as in issue 11
    killed = time.monotonic()
    wait_for(lambda: supervisor.pid("worker_payments") not in (0, old_pid), timeout=30,
             what="supervisor to start the worker again", diagnostics=supervisor.logs)  # fmt: skip
    assert time.monotonic() - killed < 30
    # The operator sees why in the terminal (supervisord's warnings reach it).
    assert "worker_payments (terminated by SIGKILL; not expected)" in supervisor.logs()
    wait_for(lambda: answers(payments), timeout=90, what="the restarted payments worker",
             diagnostics=supervisor.logs)  # fmt: skip
    # The others kept running all along.
    status = supervisor.ctl("status")
    assert status.count("RUNNING") == len(WORKERS), status

    order = place_order(client)
    wait_until_done(order, chaos, timeout=90)
    assert_done_exactly_once(order)
    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID

    assert supervisor.stop() == 0  # Ctrl-C stops everything cleanly


def test_closing_the_terminal_stops_every_process(tmp_path):
    """A hangup (the terminal closed) stops the whole tree; supervisord alone would reload."""
    procfile = tmp_path / "Procfile"
    procfile.write_text(
        "".join(
            f"sleeper{n}: echo $$ > {tmp_path}/sleeper{n}.pid; exec sleep 300\n" for n in (1, 2)
        )
    )
    leader, terminal = os.openpty()

    def own_terminal():  # a login session whose controlling terminal is the pty
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    supervise = subprocess.Popen(
        [sys.executable, "scripts/supervise.py", "--procfile", str(procfile),
         "--dir", str(tmp_path / "supervisor")],
        cwd=ROOT, stdin=terminal, stdout=terminal, stderr=terminal, preexec_fn=own_terminal,
    )  # fmt: skip
    os.close(terminal)
    os.set_blocking(leader, False)
    output = bytearray()

    def both_running() -> bool:
        with contextlib.suppress(OSError):
            output.extend(os.read(leader, 65536))  # keep the terminal drained
        return all((tmp_path / f"sleeper{n}.pid").exists() for n in (1, 2))

    wait_for(both_running, what="both supervised processes", diagnostics=lambda: output.decode())
    time.sleep(2.5)  # past startsecs: both RUNNING, every start-up line written
    with contextlib.suppress(OSError):
        output.extend(os.read(leader, 65536))
    pids = [int((tmp_path / f"sleeper{n}.pid").read_text()) for n in (1, 2)]

    os.close(leader)  # the terminal hangs up: SIGHUP to its session

    try:
        assert supervise.wait(60) == 0, output.decode()
    finally:
        if supervise.poll() is None:
            supervise.kill()
    wait_for(lambda: not any(alive(pid) for pid in pids), timeout=30,
             what="the supervised processes to be stopped")  # fmt: skip
    # Start-up is quiet: no CRIT lines about root or the control socket.
    assert b"CRIT" not in output, output.decode()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
