"""Follow-up of the COP actions: dated progress updates, and the actions overdue for one."""
