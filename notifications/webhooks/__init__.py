"""Standard Webhooks helpers with no database access (the writes are in notifications.services).

- signing: Standard Webhooks signatures (webhook-id, -timestamp, -signature).
- special_addresses: the addresses webhooks never go to (the IANA special-purpose
  registries in data/, embedded IPv4 addresses).
- safe_http: the save-time URL check, and a requests-hardened session that checks
  the address it connects to.
"""
