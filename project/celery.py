"""The one Celery app. Its configuration lives in settings (CELERY_*)."""

import os

from celery import Celery, signals

from jobs.redelivery import RestoreUnackedMessages

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

# Every @shared_task gets the shared base task (retry policy, logging,
# dead letters) unless it names another base explicitly.
app = Celery("orderly", task_cls="jobs.base:OrderlyTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.after_setup_logger.connect
@signals.after_setup_task_logger.connect
def _structured_logs(logger, **kwargs):
    """Workers and beat log in ORDERLY_LOG_FORMAT too (Celery sets up their handlers)."""
    from ops.log_context import use_configured_format

    use_configured_format(logger)


# Green-pool workers (the Procfile's payments and webhooks) must redeliver what
# a killed worker left unacknowledged, as prefork workers do (see jobs.redelivery).
app.steps["consumer"].add(RestoreUnackedMessages)
