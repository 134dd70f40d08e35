"""Settings of the benchmark's web processes: the shop's, plus the bench app.

The bench app installs the checkout variant named by BENCH_CHECKOUT_VARIANT
(see bench/checkout_variants.py) when Django starts, and its URLs add the
seed-naive checkout (bench/naive.py) to the shop's.
"""

from project.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "bench"]  # noqa: F405
ROOT_URLCONF = "bench.urls"
