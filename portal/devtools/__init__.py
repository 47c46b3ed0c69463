"""Developer tooling for Portal (not imported by the running application)."""
