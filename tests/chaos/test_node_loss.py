"""A whole machine lost in the middle of a load of orders: the other one finishes every order once.

Two "machines" on this host, each a complete set of the Procfile's processes
(web, the worker of every queue, beat) run by the project's own process
manager, scripts/supervise.py, as `make dev` runs it. Each runs in a PID and
UTS namespace of its own (`unshare`, so root, as CI is): its hostname is
machine-a or machine-b, so the Procfile's `--hostname payments@%h` names its
workers payments@machine-a and so on, and its beat's lease holder is
machine-a:<pid>:<nonce>. Both share the test database, the chaos Redis broker
and the lock Redis, as two hosts would.

Shoppers check out through both webs in turn: most pay with the slow sandbox
card (a second at the gateway), some are declined (those orders are
cancelled). Machine A's beat holds the lease (B's starts once it does). Once
a charge is in flight on A's payments worker, the test SIGKILLs A's namespace
init: the kernel then SIGKILLs every process of the namespace at once
(supervisor, web, workers, pool children, beat), as a machine that loses its
power. Shoppers whose web is gone go to B, as a load balancer would send them.

Machine B must finish every order in the database once (also one whose
checkout A's web committed but never answered): each paid order charged once
at the gateway, one confirmation e-mail and one invoice; each declined order
cancelled with no charge; nothing dead-lettered, nothing left in the outbox.
The tasks A was running were never acknowledged (acks_late): they must come
back to B as the same messages and succeed there. B's standby beat must take
the lease within a minute and send.

Timers run at the chaos scale, 1/10 of every shipped timer together (the
chaos fixture checks their order), and so do the periods of the two jobs that
recover lost work (the outbox relay, 10 s shipped, and the overdue sweep, 30 s
shipped). Each figure the test prints is therefore a tenth of what the
shipped defaults give:
- beat takeover: the lease (3 s here; ORDERLY_BEAT_LEASE_SECONDS, 30 s
  shipped) plus up to a third of it for the standby's next tick;
- A's in-flight orders: Redis gives back what a dead worker held
  unacknowledged after the visibility timeout (30 s here;
  CELERY_VISIBILITY_TIMEOUT, 300 s shipped) plus the restore interval (1 s
  here, 10 s shipped). On RabbitMQ they would come back as soon as A's
  connections dropped;
- a message A's worker had taken from its Redis list but not yet recorded as
  unacknowledged (kombu's BRPOP, then a second command; under load the reply
  can sit in a socket buffer) dies with A: no visibility timeout brings it
  back. The overdue sweep does, once the step is older than visibility
  timeout + hard time limit + outbox grace (40 s here, 400 s shipped), at its
  next run. The test counts such steps (`republished_by_the_sweep`). A
  message that Redis does hold for A is not published again even when the
  step is older than that bound (it waited behind others before A took it):
  Redis gives it back, and the test checks it ran on B under its own id.
"""

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis
import requests
from django.conf import settings
from django.core.management import call_command
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from jobs.beat import active_beat
from jobs.models import DeadLetter, OutboxMessage, TaskAttempt
from notifications.models import EmailLog
from orders import steps
from orders.models import Order, Payment
from reports.models import Invoice
from sandbox.gateway import DECLINED, SLOW
from sandbox.models import GatewayCharge, GatewayRefund, GatewayRequest
from tests.factories import ProductFactory
from tests.helpers import SUCCEEDING_CARD, checkout_form, wait_for
from tests.processes import ROOT, control_app, free_port

pytestmark = pytest.mark.worker

# Every Procfile line but the gateway (the sandbox is the live server) and Flower.
PROGRAMS = ["web", "beat", "worker_default", "worker_payments", "worker_emails",
            "worker_reports", "worker_webhooks"]  # fmt: skip
QUEUES = ["default", "payments", "emails", "reports", "webhooks"]
# Small pools: fourteen Django processes share the machine's two cores.
SIZES = {"WEB_WORKERS": "1", "WEB_THREADS": "4", "DEFAULT_CONCURRENCY": "1",
         "PAYMENTS_CONCURRENCY": "4", "EMAILS_CONCURRENCY": "4", "REPORTS_CONCURRENCY": "1",
         "WEBHOOKS_CONCURRENCY": "2"}  # fmt: skip
CARDS = [SLOW, SLOW, SUCCEEDING_CARD.replace(" ", ""), DECLINED]  # in turn
AFTER_THE_KILL = 4  # orders placed through B once A is gone
MOST_ORDERS = 40  # a hang guard for the load
# A hang guard: fourteen Django processes starting at once take a while on two busy cores.
STARTUP = 240
# Shipped periods (jobs/schedules.py) of the jobs that recover what the broker lost.
RECOVERY_SCHEDULES = {"Relay stranded outbox messages": 10, "Republish overdue pipeline steps": 30}


def namespaces_work() -> bool:
    probe = ["unshare", "--uts", "--pid", "--fork", "--mount-proc", "true"]
    return bool(shutil.which("unshare")) and subprocess.run(probe, check=False).returncode == 0


class Machine:
    """The Procfile's web, workers and beat under scripts/supervise.py, in namespaces of its own."""

    def __init__(self, name: str, env: dict, directory: Path):
        self.name = name
        self.directory = directory
        directory.mkdir()
        (directory / "mail").mkdir()
        self.web = f"http://127.0.0.1:{free_port()}"
        self.env = {**env, **SIZES, "WEB_BIND": self.web.removeprefix("http://"),
                    "EMAIL_FILE_PATH": str(directory / "mail")}  # fmt: skip
        self.log = directory / "supervise.log"
        self.process: subprocess.Popen | None = None

    def start(self, later=()) -> "Machine":
        self.process = subprocess.Popen(
            # unshare forks the namespace's init: sh, which names the host and
            # becomes supervise.py. --kill-child: if unshare dies, so does it.
            ["unshare", "--uts", "--pid", "--fork", "--mount-proc", "--kill-child",
             "sh", "-c", 'hostname "$0" && exec "$@"', self.name,
             sys.executable, "scripts/supervise.py", "--dir", str(self.directory / "supervisor"),
             "--only", *PROGRAMS, *(["--later", *later] if later else [])],
            cwd=ROOT, env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        return self

    def start_later(self, program: str) -> None:
        """`supervisorctl start` a line left stopped (--later), once supervisord answers."""
        conf = self.directory / "supervisor" / "supervisord.conf"

        def started() -> bool:
            answer = subprocess.run(
                [sys.executable, "-m", "supervisor.supervisorctl", "-c", str(conf),
                 "start", f"orderly:{program}"],
                capture_output=True, text=True, timeout=60, check=False,
            ).stdout  # fmt: skip
            return "started" in answer

        wait_for(started, timeout=60, what=f"{self.name}'s {program} to start",
                 diagnostics=self.log_tail)  # fmt: skip

    def workers(self) -> list[str]:
        return [f"{queue}@{self.name}" for queue in QUEUES]

    def init_pid(self) -> int:
        """The namespace's pid 1 (supervise.py), as this namespace numbers it: unshare's child."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return int(children.read_text().split()[0])

    def processes(self, namespace: str) -> list[int]:
        """Every process still alive in the PID namespace `namespace` (a /proc/N/ns/pid link)."""
        alive = []
        for entry in Path("/proc").iterdir():
            with contextlib.suppress(OSError):
                if entry.name.isdigit() and os.readlink(entry / "ns" / "pid") == namespace:
                    alive.append(int(entry.name))
        return alive

    def kill(self) -> None:
        """SIGKILL the namespace's init: the kernel kills every process in it at once."""
        init = self.init_pid()
        namespace = os.readlink(f"/proc/{init}/ns/pid")
        os.kill(init, signal.SIGKILL)
        self.process.wait(30)
        wait_for(lambda: not self.processes(namespace), timeout=10,
                 what=f"every process of {self.name} to be gone")  # fmt: skip

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            with contextlib.suppress(OSError, IndexError, ValueError):
                os.kill(self.init_pid(), signal.SIGKILL)
            self.process.kill()
            self.process.wait(30)

    def log_tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} (tail) ---\n" + "\n".join(text.splitlines()[-lines:])


# A web killed before or while it answers: no connection, or a body cut short
# (ChunkedEncodingError is no ConnectionError: a page half sent when A died).
WEB_DIED = (requests.ConnectionError, requests.exceptions.ChunkedEncodingError)


class Shoppers:
    """Checkouts over HTTP through the machines' webs in turn; a dead web's turn goes elsewhere."""

    def __init__(self, machines: list[Machine]):
        self.webs = {machine.name: machine.web for machine in machines}
        self.placed: dict[str, str] = {}  # public id: machine whose web took it
        self.unanswered: list[str] = []  # checkouts whose web died before answering
        self.errors: list[str] = []
        self.down: set[str] = set()
        self.killed = threading.Event()
        self.placed_after_kill = 0
        self.count = 0
        self.lock = threading.Lock()

    def checkout(self, web: str, product_id: int, card: str) -> str:
        session = requests.Session()
        session.get(f"{web}/", timeout=30)
        csrf = {"csrfmiddlewaretoken": session.cookies["csrftoken"]}
        session.post(f"{web}/cart/add/", {"product_id": product_id, "quantity": 1, **csrf},
                     timeout=30)  # fmt: skip
        form = checkout_form(card)
        try:
            response = session.post(f"{web}/checkout/", {**form, **csrf}, allow_redirects=False,
                                    timeout=30)  # fmt: skip
        except WEB_DIED:
            return ""  # the web died mid-checkout: the order may or may not exist
        if response.status_code != 302:
            raise AssertionError(f"{response.status_code}: {response.text[:300]}")
        return response.headers["Location"].split("/")[-2]

    def shop(self, products: list[int]) -> None:
        while True:
            with self.lock:
                done = self.placed_after_kill >= AFTER_THE_KILL or self.count >= MOST_ORDERS
                index, self.count = self.count, self.count + 1
            if done:
                return
            after_kill = self.killed.is_set()
            while True:
                live = [name for name in self.webs if name not in self.down]
                machine = live[index % len(live)]
                try:
                    public_id = self.checkout(self.webs[machine], products[index], CARDS[index % 4])
                except WEB_DIED:  # before the checkout was sent: try another
                    self.down.add(machine)
                    continue
                except Exception as error:  # reported by the test
                    self.errors.append(f"{machine}: {error!r}")
                    return
                break
            with self.lock:
                if public_id:
                    self.placed[public_id] = machine
                    self.placed_after_kill += after_kill
                else:
                    self.down.add(machine)
                    self.unanswered.append(machine)


def running_on(machine: Machine, control) -> dict[str, str]:
    """{task id: its args} of the order tasks `machine`'s workers are running (inspect active:
    no STARTED state is stored, CELERY_TASK_TRACK_STARTED is off)."""
    replies = control.inspect(destination=machine.workers(), timeout=1).active() or {}
    return {
        task["id"]: str(task["args"])
        for tasks in replies.values()
        for task in tasks
        if task["name"] in steps.TASK_NAMES
    }


def charge_in_flight_on(machine: Machine, control) -> int | None:
    """An order whose charge A's payments worker is running and the gateway has not answered."""
    replies = control.inspect(destination=[f"payments@{machine.name}"], timeout=1).active() or {}
    started = [str(t["args"]) for ts in replies.values() for t in ts
               if t["name"] == steps.CHARGE_PAYMENT]  # fmt: skip
    for args in started:
        order_id = int(re.search(r"\d+", args)[0])
        key = Payment.objects.filter(order_id=order_id).values_list("idempotency_key", flat=True)
        if GatewayRequest.objects.filter(idempotency_key__in=key, status_code=None).exists():
            return order_id
    return None


def finished_orders() -> set[int]:
    """Orders whose pipeline ended: paid, confirmed and invoiced, or cancelled and told."""

    def ids(queryset, field="order_id") -> set[int]:
        return set(queryset.values_list(field, flat=True))

    confirmed = ids(EmailLog.objects.filter(kind=EmailLog.Kind.ORDER_CONFIRMATION))
    told = ids(EmailLog.objects.filter(kind=EmailLog.Kind.PAYMENT_FAILED))
    invoiced = ids(Invoice.objects)
    paid = ids(Order.objects.filter(status=Order.Status.PAID), "pk")
    cancelled = ids(Order.objects.filter(status=Order.Status.CANCELLED), "pk")
    return (paid & confirmed & invoiced) | (cancelled & told)


def unacknowledged_task_ids(broker: redis.Redis) -> set[str]:
    """Task ids of the messages the broker holds as delivered but not acknowledged."""
    return {json.loads(raw)[0]["headers"]["id"] for raw in broker.hvals("unacked")}


@pytest.fixture
def machines(chaos, tmp_path):
    if not namespaces_work():
        pytest.skip("needs `unshare` with PID and UTS namespaces (root, as in CI)")
    call_command("setup_periodic_tasks")  # the schedules both beats read
    # The two recovery jobs run at the chaos scale too, like the bounds they apply.
    for name, every in RECOVERY_SCHEDULES.items():
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=max(1, round(every * chaos.timer_scale)), period=IntervalSchedule.SECONDS
        )
        PeriodicTask.objects.filter(name=name).update(interval=interval)
    pair = [Machine(name, chaos.env(), tmp_path / name) for name in ("machine-a", "machine-b")]
    yield pair
    for machine in pair:
        machine.stop()


def test_a_whole_machine_killed_mid_load_and_the_other_finishes_every_order_once(
    chaos, machines, record_property
):
    a, b = machines
    logs = lambda: "\n".join(machine.log_tail() for machine in machines)  # noqa: E731
    started = time.monotonic()
    # Both start together; B's beat once A's holds the lease, so that B's stands by.
    a.start()
    b.start(later=["beat"])
    wait_for(lambda: (active_beat() or "").startswith(f"{a.name}:"), timeout=STARTUP,
             what="machine A's beat to take the lease", diagnostics=logs)  # fmt: skip
    b.start_later("beat")
    control = control_app(chaos.redis.url).control

    def all_up() -> bool:
        names = a.workers() + b.workers()
        answered = {name for reply in control.ping(names, timeout=1) for name in reply}
        return answered == set(names) and all(answers(f"{m.web}/healthz") for m in machines)

    wait_for(all_up, timeout=STARTUP, what="both machines' webs and workers", diagnostics=logs)
    wait_for(lambda: "standing by" in b.log.read_text(), timeout=30,
             what="machine B's beat to stand by", diagnostics=logs)  # fmt: skip

    machines_up = time.monotonic() - started
    shoppers = Shoppers(machines)
    products = [ProductFactory(stock=10).pk for _ in range(MOST_ORDERS)]
    load = [threading.Thread(target=shoppers.shop, args=(products,)) for _ in range(2)]
    for thread in load:
        thread.start()
    in_flight = wait_for(
        lambda: len(shoppers.placed) >= 4 and charge_in_flight_on(a, control),
        timeout=60,
        what="a charge in flight on machine A",
        diagnostics=logs,
    )
    assert (active_beat() or "").startswith(f"{a.name}:"), active_beat()
    running = running_on(a, control)

    a.kill()
    killed = time.monotonic()
    shoppers.killed.set()

    # What A was running just before it died (the slow charge at least, still at the
    # gateway), and the broker still holds for it: a task that ended in between was acked.
    assert running, "machine A was running no order task"
    unacknowledged = unacknowledged_task_ids(redis.Redis.from_url(chaos.redis.url))
    running = {task_id: args for task_id, args in running.items() if task_id in unacknowledged}
    a_orders = {int(re.search(r"\d+", args)[0]) for args in running.values()}
    assert in_flight in a_orders

    took_over = a_finished = None
    deadline = killed + 120  # a hang guard; recovery takes about a visibility timeout
    while time.monotonic() < deadline:
        now = time.monotonic() - killed
        if took_over is None and (active_beat() or "").startswith(f"{b.name}:"):
            took_over = now
            sends = PeriodicTask.objects.get(name="Dispatch due webhook deliveries").total_run_count
        done = finished_orders()
        if a_finished is None and a_orders <= done:
            a_finished = now
        loaded = not any(thread.is_alive() for thread in load)
        everything = set(Order.objects.values_list("pk", flat=True))
        if took_over is not None and loaded and everything <= done:
            break
        assert took_over is not None or now < 60, f"B's beat did not take over\n{logs()}"
        time.sleep(0.2)
    else:
        raise AssertionError(f"orders left unfinished: {everything - done}\n{logs()}")
    all_finished = time.monotonic() - killed

    assert shoppers.errors == []
    assert shoppers.placed_after_kill >= AFTER_THE_KILL
    orders = list(Order.objects.select_related("payment"))
    assert set(shoppers.placed) <= {str(order.public_id) for order in orders}
    # A's running tasks were given back and run on B: the same messages, not new ones.
    for task_id in running:
        assert TaskAttempt.objects.filter(
            task_id=task_id, outcome=TaskAttempt.Outcome.SUCCEEDED, worker__endswith=f"@{b.name}"
        ).exists(), task_id
    # Each order once: paid with one charge, one e-mail, one invoice; or cancelled, uncharged.
    for order in orders:
        charges = GatewayCharge.objects.filter(reference=order.public_id, status_code__lt=300)
        confirmations = EmailLog.objects.filter(order=order, kind=EmailLog.Kind.ORDER_CONFIRMATION)
        if order.payment.card_last4 == DECLINED[-4:]:
            assert order.status == Order.Status.CANCELLED, order.number
            assert not charges.exists() and not confirmations.exists(), order.number
            assert not Invoice.objects.filter(order=order).exists(), order.number
            assert order.emails.filter(kind=EmailLog.Kind.PAYMENT_FAILED).count() == 1
        else:
            assert order.status == Order.Status.PAID, order.number
            assert order.payment.status == Payment.Status.SUCCEEDED, order.number
            assert charges.count() == 1, order.number
            assert confirmations.count() == 1, order.number
            assert Invoice.objects.filter(order=order).count() == 1, order.number
    assert not GatewayRefund.objects.exists()
    assert not DeadLetter.objects.exists(), list(
        DeadLetter.objects.values(
            "task_name", "queue", "reference", "exception_class", "exception_message",
            "attempts", "worker_hostname",
        )
    )  # fmt: skip
    assert not OutboxMessage.objects.filter(sent_at=None).exists()
    # B's beat sends once it holds the lease.
    wait_for(
        lambda: (
            PeriodicTask.objects.get(name="Dispatch due webhook deliveries").total_run_count > sends
        ),
        timeout=30,
        what="machine B's beat to send",
        diagnostics=logs,
    )

    figures = {
        "machines_up_seconds": round(machines_up, 1),
        "beat_takeover_seconds": round(took_over, 1),
        "in_flight_orders_finished_seconds": round(a_finished, 1),
        "all_orders_finished_seconds": round(all_finished, 1),
        "orders": len(orders),
        "in_flight_on_a": len(a_orders),
        "unanswered_checkouts": len(shoppers.unanswered),
        # Steps the overdue sweep published again: messages lost with A (see the docstring).
        "republished_by_the_sweep": b.log.read_text().count("published again, its message"),
        "lease_seconds": settings.ORDERLY_BEAT_LEASE_SECONDS * chaos.timer_scale,
        "visibility_timeout_seconds": settings.CELERY_VISIBILITY_TIMEOUT * chaos.timer_scale,
    }
    for name, value in figures.items():
        record_property(name, value)
    print(f"\nnode loss: {figures}")


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False
