from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operations: health probes, Prometheus metrics, structured logs. No models."""

    name = "ops"
    verbose_name = "Operations"

    def ready(self):
        # Task metrics and log context hang off Celery signals, so no task,
        # and not the shared base task in jobs, needs to know about them.
        from celery.signals import worker_ready
        from django.conf import settings

        from . import broker_nodes, log_context, order_metrics, task_metrics, tracing

        worker_ready.connect(broker_nodes.log_connected_node, weak=False)

        if settings.ORDERLY_TASK_METRICS:
            task_metrics.install()
            order_metrics.install()
        log_context.install()
        tracing.install()
