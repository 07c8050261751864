"""Deprecated: moved to `prefect_dhis2.analytics.shards` (removed in 0.3)."""

from prefect_dhis2._deprecation import deprecated_names

__getattr__ = deprecated_names(__name__, rest="prefect_dhis2.analytics.shards")
