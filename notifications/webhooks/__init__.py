"""Signed outbound webhooks: order events POSTed to operator-configured endpoints.

- signing: Standard Webhooks signatures (webhook-id, -timestamp, -signature).
- safe_http: SSRF checks and a requests session pinned to the checked address.
- services: endpoints, creating deliveries for events, dispatching them (outbox, beat).
- sending: one HTTP attempt of a delivery, its log, and the retry decision.
"""
