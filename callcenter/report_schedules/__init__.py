"""Reports mailed to managers at a set time (the notification outbox sends them)."""
