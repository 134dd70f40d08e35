"""Two beats started by mistake: one sends, the other stands by and takes over when it dies."""

import time

import pytest
import redis
from django.conf import settings
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from jobs.schedules import SCHEDULES
from tests.helpers import wait_for

pytestmark = pytest.mark.worker

WINDOW_SECONDS = 20
ACTIVE = "is the active beat"


def sends() -> dict[str, int]:
    """How often each schedule was sent so far, by whichever beat was active.

    Read from django-celery-beat's own count, which the active beat saves
    after every send: the logs leave out the idle runs of the every-few-
    seconds jobs (jobs/log_filters.py), so they cannot be counted there.
    """
    return dict(PeriodicTask.objects.values_list("name", "total_run_count"))


def became_active(beat) -> bool:
    return ACTIVE in beat.log_path.read_text(errors="replace")


def test_two_beats_send_each_periodic_task_once_per_period_and_the_standby_takes_over(chaos):
    call_command("setup_periodic_tasks")
    # The lease is 5 s here (50 s at the chaos scale of 1/10; 30 s shipped).
    started = time.monotonic()  # sends are counted from here, by whichever beat
    first = chaos.beat(ORDERLY_BEAT_LEASE_SECONDS="50")
    wait_for(lambda: became_active(first), what="the first beat to take the lease",
             diagnostics=chaos.logs)  # fmt: skip
    second = chaos.beat(ORDERLY_BEAT_LEASE_SECONDS="50")
    time.sleep(WINDOW_SECONDS)

    window = time.monotonic() - started
    assert not became_active(second), chaos.logs()
    assert "standing by" in second.log_path.read_text(), chaos.logs()
    counts = sends()
    for schedule in SCHEDULES:
        if schedule.every_seconds and schedule.every_seconds <= WINDOW_SECONDS:
            most = window // schedule.every_seconds + 1
            assert 1 <= counts.get(schedule.name, 0) <= most, (schedule.name, counts)

    first.kill()  # SIGKILL: no goodbye, the lease must expire
    killed = time.monotonic()
    wait_for(lambda: became_active(second), timeout=60,
             what="the standby beat to take over", diagnostics=chaos.logs)  # fmt: skip
    took_over = time.monotonic() - killed
    assert took_over < 60
    before = sends().get("Relay stranded outbox messages", 0)
    wait_for(
        lambda: sends().get("Relay stranded outbox messages", 0) > before,
        timeout=30,
        what="the new active beat to send the relay",
        diagnostics=chaos.logs,
    )


def test_beat_outlives_a_broker_that_refuses_its_sends_and_sends_again_once_it_is_back(chaos):
    """A send that fails is logged (celery.beat's "Message Error") and beat keeps going.

    Once, that line stopped beat: a log filter raised on its arguments (jobs/log_filters.py).
    """
    call_command("setup_periodic_tasks")
    beat = chaos.beat()
    wait_for(lambda: became_active(beat), what="the beat to take the lease",
             diagnostics=chaos.logs)  # fmt: skip

    broker = redis.Redis.from_url(chaos.redis.url)
    # Full: every send is answered "OOM command not allowed". (The lease lives in
    # the lane's Redis and stays.)
    broker.config_set("maxmemory", 1)
    wait_for(
        lambda: beat.log_path.read_text(errors="replace").count("Message Error") >= 2,
        timeout=60,
        what="beat to log two sends that failed",
        diagnostics=chaos.logs,
    )
    assert beat.process.poll() is None, chaos.logs()

    broker.config_set("maxmemory", 0)
    broker.delete(settings.CELERY_TASK_DEFAULT_QUEUE)  # what was sent before
    wait_for(
        lambda: broker.llen(settings.CELERY_TASK_DEFAULT_QUEUE) > 0,
        timeout=30,
        what="beat to send the relay again",
        diagnostics=chaos.logs,
    )


def test_a_beat_and_a_worker_say_where_each_thread_is_on_sigusr1(chaos):
    """What an operator (and a chaos test's failure message) reads when beat or a worker stalls."""
    worker = chaos.worker()
    beat = chaos.beat()
    wait_for(lambda: became_active(beat), what="the beat to take the lease",
             diagnostics=chaos.logs)  # fmt: skip

    stacks = chaos.stacks()

    beat_dump, worker_dump = (
        stacks.split(f"--- {process.log_path.name}: stacks on SIGUSR1 ---")[1].split("\n--- ")[0]
        for process in (beat, worker)
    )
    assert "thread 0x" in beat_dump and "celery/beat.py" in beat_dump, stacks  # faulthandler
    assert "MainThread" in worker_dump, stacks  # Celery's cry handler
    assert beat.process.poll() is None and worker.process.poll() is None, chaos.logs()
