import pytest


@pytest.mark.django_db
def test_sandbox_page_shows_gateway_and_warehouse_sections_under_a_short_title(client):
    page = client.get("/sandbox/").content.decode()
    title = page.split("<title>")[1].split("</title>")[0]
    assert title.startswith("Sandbox")
    assert "warehouse" not in title.lower()
    assert page.count('id="warehouse-heading"') == 1
    assert "4242 4242 4242 4242" in page or "4242424242424242" in page
