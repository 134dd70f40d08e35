from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Background jobs"

    def ready(self):
        from celery.signals import worker_ready

        worker_ready.connect(relay_outbox_at_worker_start, weak=False)


def relay_outbox_at_worker_start(sender, **kwargs):
    """A worker that starts after an outage publishes what was stranded meanwhile.

    Beat runs the relay every few seconds too; this only shortens the wait
    after a restart. Published as a task, so the worker's main process
    touches no database connection before its pool forks.
    """
    sender.app.send_task("jobs.relay_outbox", queue="default")
