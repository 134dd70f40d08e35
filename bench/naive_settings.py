"""Settings of the seed-naive variant's processes (bench/naive.py): what a bare app runs.

The shop's settings and database, with what the seed material does not have
turned off: no task events (Celery's default; Flower is not started), no
STARTED state or extended results, no task metrics, and Django's default
middleware (what `startproject` writes) instead of the shop's (request
metrics, CSP, permissions policy, static files, control-character guards,
login lock-out).
"""

from bench.settings import *  # noqa: F403

CELERY_WORKER_SEND_TASK_EVENTS = False
CELERY_TASK_SEND_SENT_EVENT = False
CELERY_TASK_TRACK_STARTED = False
CELERY_RESULT_EXTENDED = False
ORDERLY_TASK_METRICS = False
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
# The naive tasks on the same queues (and so the same workers) as Orderly's steps.
CELERY_TASK_ROUTES = {
    **CELERY_TASK_ROUTES,  # noqa: F405
    "bench.naive_charge": {"queue": "payments"},
    "bench.naive_email": {"queue": "emails"},
    "bench.naive_invoice": {"queue": "reports"},
}
