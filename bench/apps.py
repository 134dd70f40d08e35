import os

from django.apps import AppConfig


class BenchConfig(AppConfig):
    name = "bench"
    verbose_name = "Benchmarks"

    def ready(self):
        from .checkout_variants import install

        install(os.environ.get("BENCH_CHECKOUT_VARIANT", "orderly"))
