"""Attribution joins and incidents: each join is a small named function with its own tests."""
