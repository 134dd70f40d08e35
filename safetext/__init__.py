"""Rules for text that comes from outside (shoppers, clients, the database) and where it goes.

Infrastructure at the bottom of the layers, with `jobs`: nothing here is
shop-specific or imports an app. Each sink still escapes for itself (see the
docs/security.md); this package holds the rules shared by several.
"""
