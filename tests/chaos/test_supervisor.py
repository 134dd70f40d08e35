"""`make dev`'s process manager: a killed worker is started again and the pipeline completes.

Runs scripts/supervise.py (supervisor over the Procfile) for the worker
lines, against the chaos Redis and the test database.
"""

import contextlib
import fcntl
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import termios
import time

import pytest
import requests
from django.conf import settings

from orders.models import Order
from project.celery import app as celery_app
from tests.chaos.test_crashes import assert_done_exactly_once, place_order, wait_until_done
from tests.helpers import wait_for
from tests.processes import ROOT, free_port

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


# --- `make dev`'s terminal (issue 22) ---------------------------------------------

BOX_END = "Ready. Ctrl-C stops everything."
ACCESS_LINE = re.compile(r'"(GET|HEAD|POST) (\S+) HTTP/[\d.]+" (\d{3})')


def run_make_dev(env: dict, directory):
    """scripts/dev, as `make dev` runs it, on ports and files of its own; output to a log."""
    web, flower = free_port(), free_port()
    env = {
        **env,
        "REDIS_URL": env["CELERY_BROKER_URL"],
        "WEB_BIND": f"127.0.0.1:{web}",
        "WEB_WORKERS": "1",
        "FLOWER_PORT": str(flower),
        "FLOWER_BASIC_AUTH": "admin:change-me",
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,  # sessions made here are read there
        "ORDERLY_SUPERVISOR_DIR": str(directory / "supervisor"),
        "PROMETHEUS_MULTIPROC_DIR": str(directory / "metrics"),
        "ORDERLY_ACCESS_LOG_FILE": str(directory / "access.log"),
        "DEV_ADMIN_PASSWORD": "orderly-admin",
        **{f"{queue}_CONCURRENCY": "1" for queue in ("PAYMENTS", "EMAILS", "WEBHOOKS")},
    }
    log = directory / "make-dev.log"
    process = subprocess.Popen(
        ["./scripts/dev"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
        stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    return process, log, f"http://127.0.0.1:{web}"


@pytest.fixture
def make_dev(chaos, tmp_path):
    dot_env = ROOT / ".env"
    had_dot_env = dot_env.exists()  # scripts/dev writes one from .env.example if missing
    process, log, web = run_make_dev(chaos.env(), tmp_path)
    yield process, log, web
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
    conf = tmp_path / "supervisor" / "supervisord.pid"
    with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
        os.killpg(int(conf.read_text()), signal.SIGKILL)  # anything left behind
    if not had_dot_env:
        dot_env.unlink(missing_ok=True)


def test_make_dev_starts_without_a_warning_and_shows_no_polls_or_static_files(client, make_dev):
    process, log, web = make_dev
    output = lambda: log.read_text(errors="replace")  # noqa: E731
    wait_for(lambda: BOX_END in output() or process.poll() is not None, timeout=300,
             what="make dev's URL box", diagnostics=lambda: output()[-6000:])  # fmt: skip
    assert process.poll() is None, output()[-6000:]

    order = place_order(client)  # in the shared database; this client's session owns it
    cookies = {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}
    url = f"{web}/orders/{order.public_id}/status/"

    def polled_unchanged() -> bool:  # the pipeline may move between two polls: try again
        first = requests.get(url, cookies=cookies, timeout=30)
        assert first.status_code == 200
        etag = {"If-None-Match": first.headers["ETag"]}
        return requests.get(url, cookies=cookies, headers=etag, timeout=30).status_code == 304

    wait_for(polled_unchanged, timeout=60, what="a poll of an unchanged order to answer 304")
    catalog = requests.get(f"{web}/", timeout=30)
    assert catalog.status_code == 200
    stylesheet = re.search(r'href="(/static/[^"]+\.css)"', catalog.text)[1]
    assert requests.get(f"{web}{stylesheet}", timeout=30).status_code == 200
    assert requests.get(f"{web}/readyz", timeout=30).status_code == 200
    marker = requests.get(f"{web}/?after-the-polls", timeout=30)  # the last request
    assert marker.status_code == 200
    wait_for(lambda: "after-the-polls" in output(), timeout=30, what="the last access line",
             diagnostics=lambda: output()[-6000:])  # fmt: skip

    text = output()
    warnings = [line for line in text.splitlines() if "WARNING" in line or "CRIT" in line]
    assert warnings == [], text[-6000:]
    after_box = text.split(BOX_END, 1)[1]
    shown = [match.group(2) for match in ACCESS_LINE.finditer(after_box)]
    assert [path for path in shown if path.startswith(("/static/", "/orders/", "/readyz"))] == []
    assert "/" in shown and "/?after-the-polls" in shown
    # The access log file has every request, polls and static files included.
    logged = [match.group(2) for match in ACCESS_LINE.finditer(
        (log.parent / "access.log").read_text())]  # fmt: skip
    assert f"/orders/{order.public_id}/status/" in logged and stylesheet in logged


def test_a_failed_request_is_logged_once_on_a_development_console():
    """django.request's line for a 503 (a /readyz during start-up) prints once, not twice."""
    script = (
        "import django, logging; django.setup(); "
        "logging.getLogger('django.request').error('Service Unavailable: %s', '/readyz')"
    )
    env = {**os.environ, "DJANGO_DEBUG": "true", "DJANGO_READ_DOT_ENV_FILE": "false"}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    assert result.stderr.count("Service Unavailable: /readyz") == 1, result.stderr


def test_the_console_access_log_skips_polls_static_files_and_failures():
    from jobs.log_filters import QuietRoutineRequests

    quiet = QuietRoutineRequests(paths=settings.ORDERLY_ROUTINE_REQUEST_PATHS)

    def shown(path, status="200"):
        record = logging.LogRecord("gunicorn.access", logging.INFO, "", 0, "%(r)s",
                                   (), None)  # fmt: skip
        record.args = {"U": path, "s": status, "r": f"GET {path} HTTP/1.1"}
        return quiet.filter(record)

    order = "/orders/0b3c7c6e-3f0a-4a57-9a39-2f4c1d2e5f60"
    assert not shown(f"{order}/status/") and not shown(f"{order}/progress/", "304")
    assert not shown("/static/css/orderly.3f2a.css") and not shown("/readyz")
    assert not shown("/cart/", "404")  # django.request has said it, with its reason
    assert shown("/") and shown(f"{order}/") and shown("/checkout/", "302")
