"""arq workers: thin wrappers around portal services, run by `portal worker`."""
