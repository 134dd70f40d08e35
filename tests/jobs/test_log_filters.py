"""Worker and beat logs report work: idle runs of frequent jobs and start-up chatter are dropped."""

import logging

from celery.app import trace
from celery.worker import strategy  # noqa: F401  (the module that logs "received")

from jobs.log_filters import QuietFrequentJobs, QuietStartupChatter


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
