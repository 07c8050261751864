"""The version of prefect-dhis2 (also the schema version of its blocks)."""

__version__ = "0.1.0"
