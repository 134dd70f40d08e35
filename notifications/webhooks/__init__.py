"""Standard Webhooks helpers with no database access (the writes are in notifications.services).

- signing: Standard Webhooks signatures (webhook-id, -timestamp, -signature).
- safe_http: SSRF checks and a requests session pinned to the checked address.
"""
