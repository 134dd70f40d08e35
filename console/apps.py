from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The operator's console in Django admin: order timelines, dead-letter triage, queues.

    A top-layer app: it reads every other app and extends their admin pages,
    so none of them has to know about the others. No models of its own.
    """

    name = "console"
    verbose_name = "Operator's console"
