"""Online-store orders (issue 13): the state machine, the actions, allocation, the service."""
