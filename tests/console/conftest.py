import pytest

from jobs.errors import TemporaryError
from jobs.services import dead_letters
from tests import worker_tasks  # noqa: F401 (registers the tests.* tasks requeues publish)


@pytest.fixture
def dead_letter_of(db):
    """Record a dead letter the way the base task does (sealed arguments and all)."""
    counter = iter(range(1, 100_000))

    def record(task_name="tests.fails_until_fixed", *, exc=None, args=("switch",), reference=""):
        return dead_letters.record_dead_letter(
            task_name=task_name,
            task_id=f"task-{next(counter)}-{task_name}",
            queue="default",
            args=list(args),
            kwargs={},
            exc=exc or TemporaryError("switch is broken"),
            traceback="Traceback ...",
            attempts=2,
            worker_hostname="worker@host",
            first_failed_at=None,
            reference=reference,
        )

    return record


@pytest.fixture
def staff_with(django_user_model):
    """A staff user holding exactly these permissions ("app.codename")."""
    from django.contrib.auth.models import Permission

    def make(*perms, username="staff"):
        user = django_user_model.objects.create_user(
            username=username, password="pw", is_staff=True
        )
        for perm in perms:
            app_label, codename = perm.split(".")
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        return user

    return make


@pytest.fixture(autouse=True)
def fresh_worker_facts():
    """Each test asks the workers afresh: facts another test cached predate its workers."""
    from ops.worker_facts import cache

    cache.forget()
    yield
    cache.forget()
