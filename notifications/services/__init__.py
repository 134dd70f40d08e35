"""The notifications app's writes: e-mails, webhook endpoints and deliveries, sending one."""
