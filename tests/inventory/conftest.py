import pytest


@pytest.fixture
def warehouse_url(live_server, settings):
    """The sandbox warehouse over real HTTP (pytest-django's live server)."""
    settings.WAREHOUSE_API_URL = f"{live_server.url}/sandbox/warehouse"
    return settings.WAREHOUSE_API_URL
