"""The campaigns kind (互动活动): interactive campaigns planned, approved, run and reviewed."""
