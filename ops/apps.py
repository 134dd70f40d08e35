from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operations endpoints: health probes and Prometheus metrics. No models."""

    name = "ops"
    verbose_name = "Operations"
