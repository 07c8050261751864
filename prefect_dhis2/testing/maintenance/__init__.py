"""Maintenance area of the emulator: jobs and analytics tables (`models`), task polling,
maintenance and resource table endpoints (`responses`)."""
