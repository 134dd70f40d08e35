"""Worker and beat logs report work: idle runs of frequent jobs and start-up chatter are dropped."""

import logging

import pytest
from celery import beat
from celery.app import trace
from celery.worker import strategy  # noqa: F401  (the module that logs "received")
from hypothesis import given
from hypothesis import strategies as st

from jobs.log_filters import QuietFrequentJobs, QuietStartupChatter
from project.celery import app as celery_app


def record(msg, args):
    return logging.LogRecord("celery", logging.INFO, __file__, 1, msg, args, None)


def success(name, return_value):
    args = {"id": "1", "name": name, "return_value": return_value, "runtime": 0.01}
    return record(trace.LOG_SUCCESS, args)


def test_an_idle_run_of_a_job_that_runs_every_few_seconds_leaves_no_line():
    quiet = QuietFrequentJobs()
    assert "jobs.relay_outbox" in quiet.task_names
    assert not quiet.filter(record(trace.LOG_RECEIVED, {"id": "1", "name": "jobs.relay_outbox"}))
    assert not quiet.filter(success("jobs.relay_outbox", "0"))
    sending = "Scheduler: Sending due task %s (%s)"
    assert not quiet.filter(record(sending, ("Relay", "jobs.relay_outbox")))


def test_a_frequent_job_that_did_work_or_failed_is_still_logged():
    quiet = QuietFrequentJobs()
    assert quiet.filter(success("jobs.relay_outbox", "3"))
    retry = {"id": "1", "name": "jobs.relay_outbox", "exc": "ConnectionError()"}
    assert quiet.filter(record(trace.LOG_RETRY, retry))


def test_shop_tasks_and_slower_jobs_are_always_logged():
    quiet = QuietFrequentJobs()
    for name in ("orders.charge_payment", "orders.cancel_abandoned_orders"):
        assert quiet.filter(record(trace.LOG_RECEIVED, {"id": "1", "name": name}))
        assert quiet.filter(success(name, "0"))


def test_startup_chatter_goes_but_other_lines_of_those_loggers_stay():
    quiet = QuietStartupChatter()
    assert not quiet.filter(record("sync with %s", ("emails@host",)))
    assert not quiet.filter(record("Registered tasks: \n%s", ("[...]",)))
    assert quiet.filter(record("Visit me at http%s://%s:%s%s", ("", "127.0.0.1", 5555, "")))
    assert quiet.filter(record("Tasks flagged as revoked: %s", ("abc",)))


def test_beats_line_for_a_send_that_failed_is_kept_and_beat_goes_on(monkeypatch):
    """celery.beat's own apply_entry, its send failing: it logs (exc, a list of frames)."""
    quiet = QuietFrequentJobs()
    logger = logging.getLogger("celery.beat")
    kept = []
    monkeypatch.setattr(logger, "filters", [quiet])
    monkeypatch.setattr(logger, "handlers", [])
    monkeypatch.setattr(logger, "callHandlers", kept.append)
    scheduler = beat.Scheduler(celery_app, lazy=True)

    def refused(entry, producer=None, advance=False):
        raise beat.SchedulingError("Couldn't apply scheduled task Relay: connection refused")

    monkeypatch.setattr(scheduler, "apply_async", refused)
    entry = beat.ScheduleEntry(name="Relay", task="jobs.relay_outbox", app=celery_app)

    scheduler.apply_entry(entry)  # raised TypeError (unhashable list) from the filter

    assert [record.msg.split(":")[0] for record in kept] == ["Message Error"]


ANY_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner) | st.tuples(inner, inner),
    max_leaves=6,
)


@pytest.mark.parametrize("quiet", [QuietFrequentJobs(), QuietStartupChatter()], ids=type)
@given(
    msg=st.sampled_from(["Scheduler: Sending due task %s (%s)", trace.LOG_SUCCESS, "%s"])
    | st.text(),
    args=st.tuples(ANY_VALUE, ANY_VALUE) | st.dictionaries(st.text(), ANY_VALUE) | ANY_VALUE,
)
def test_a_filter_answers_for_any_line_and_never_raises(quiet, msg, args):
    line = logging.LogRecord("celery", logging.INFO, __file__, 1, msg, None, None)
    line.args = args  # as a logging call leaves them, whatever their shape
    assert quiet.filter(line) in (True, False)
