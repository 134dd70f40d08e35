"""The tasks the accounts app publishes, by name (services never import tasks)."""

from celery import signature
from celery.canvas import Signature

SEND_WELCOME_EMAIL = "notifications.send_welcome_email"

TASK_NAMES = (SEND_WELCOME_EMAIL,)


def welcome_email(user_id: int) -> Signature:
    return signature(SEND_WELCOME_EMAIL, args=(user_id,), immutable=True)
