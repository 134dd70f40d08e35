"""`manage.py wait_until_ready URL`: what `make dev` waits on before it prints the URLs."""

import pytest
from django.core.management import CommandError, call_command

from tests.processes import free_port


def test_gives_up_after_the_timeout_and_says_what_is_missing(settings):
    settings.ORDERLY_READINESS_TIMEOUT = 0.5
    url = f"http://127.0.0.1:{free_port()}/readyz"
    with pytest.raises(CommandError, match=r"Not ready in time\. Last problem: workers: no worker"):
        call_command("wait_until_ready", url, timeout=0.1)


@pytest.mark.worker
def test_returns_once_the_workers_answer_and_readyz_is_200(worker, live_server):
    call_command("wait_until_ready", f"{live_server.url}/readyz", timeout=60)


@pytest.mark.worker
def test_waits_for_the_web_process_after_the_workers(worker):
    url = f"http://127.0.0.1:{free_port()}/readyz"  # nothing listens there
    with pytest.raises(CommandError, match=r"Last problem: .*/readyz: ConnectionError"):
        call_command("wait_until_ready", url, timeout=1)
