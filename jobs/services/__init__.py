"""The jobs app's writes, one module per topic: the outbox, dead letters, housekeeping."""
