import pytest
from django.contrib.auth import get_user_model


@pytest.fixture
def staff(db):
    """A staff member with an e-mail address (gets reports and digests) and one without."""
    User = get_user_model()
    User.objects.create_user(username="no-mail", email="", is_staff=True)
    return User.objects.create_user(username="grace", email="grace@example.com", is_staff=True)
