"""Every task an app publishes by name (its steps module) is a task the workers know."""

from importlib import import_module
from importlib.util import find_spec

import pytest
from django.apps import apps

from project.celery import app as celery_app


def steps_modules():
    names = [f"{config.name}.steps" for config in apps.get_app_configs()]
    return [import_module(name) for name in names if find_spec(name)]


def test_the_apps_that_publish_by_name_have_steps_modules():
    assert {module.__name__ for module in steps_modules()} >= {
        "orders.steps", "notifications.steps", "reports.steps", "accounts.steps",
    }  # fmt: skip


@pytest.mark.parametrize("module", steps_modules(), ids=lambda module: module.__name__)
def test_every_published_task_name_is_registered(module):
    celery_app.loader.import_default_modules()  # autodiscovery, as a worker does
    assert module.TASK_NAMES
    missing = [name for name in module.TASK_NAMES if name not in celery_app.tasks]
    assert not missing, f"{module.__name__} publishes unregistered tasks: {missing}"
