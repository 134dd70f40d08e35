"""The one Celery app. Its configuration lives in settings (CELERY_*)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

# Every @shared_task gets the shared base task (retry policy, logging,
# dead letters) unless it names another base explicitly.
app = Celery("orderly", task_cls="jobs.base:OrderlyTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
