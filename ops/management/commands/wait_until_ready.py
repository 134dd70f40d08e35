"""Wait until the whole system is ready: `make dev` runs this before printing its URLs."""

import time

import requests
from django.core.management.base import BaseCommand, CommandError

from ops.health import check_workers
from ops.worker_facts import ask_workers


class Command(BaseCommand):
    help = (
        "Wait until a worker answers for every queue, then until GET URL (the web "
        "process's /readyz) answers 200. Prints nothing while waiting; exits 1 on timeout."
    )

    def add_arguments(self, parser):
        parser.add_argument("url", help="the /readyz URL of the web process")
        parser.add_argument("--timeout", type=float, default=180.0, help="seconds (180)")

    def handle(self, *args, url, timeout, **options):
        deadline = time.monotonic() + timeout
        # Ask the workers over the broker first, afresh each time (not a cached
        # answer): polling /readyz while they boot would put a line in the web
        # access log every second.
        workers = check_workers(facts=ask_workers())
        while not workers.ok:
            self._wait_or_fail(deadline, f"workers: {workers.detail}")
            workers = check_workers(facts=ask_workers())
        while True:
            try:
                response = requests.get(url, timeout=5)
            except requests.RequestException as error:
                problem = f"{url}: {type(error).__name__}"
            else:
                if response.status_code == 200:
                    return
                problem = f"{url} answered {response.status_code}: {response.text[:300]}"
            self._wait_or_fail(deadline, problem)

    @staticmethod
    def _wait_or_fail(deadline: float, problem: str) -> None:
        if time.monotonic() > deadline:
            raise CommandError(f"Not ready in time. Last problem: {problem}")
        time.sleep(1)
