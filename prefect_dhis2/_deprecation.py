"""Old import paths that keep working for one release, with a `DeprecationWarning`.

A module that moved or a name that was renamed keeps answering at its old place through
a module-level `__getattr__` built here, so `from prefect_dhis2.analytics_query import
AnalyticsQuery` still works and tells the caller where the name lives now.

Examples:
    ```python
    # prefect_dhis2/analytics_query.py (the module moved to prefect_dhis2.analytics.query)
    from prefect_dhis2._deprecation import deprecated_names

    __getattr__ = deprecated_names(__name__, rest="prefect_dhis2.analytics.query")
    ```
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["REMOVED_IN", "deprecated_names"]

REMOVED_IN = "0.3"
"""The release that drops the old paths."""


def _resolve(target: str, default_name: str) -> tuple[str, Any]:
    module_name, _, name = target.partition(":")
    value = getattr(importlib.import_module(module_name), name or default_name)
    return f"{module_name}.{name or default_name}", value


def deprecated_names(
    module: str, names: Mapping[str, str] | None = None, *, rest: str | None = None
) -> Callable[[str], Any]:
    """A module `__getattr__` that serves old names from their new home, with a warning.

    Args:
        module: The old module's `__name__`.
        names: Old name to new place: `"package.module:new_name"`, or `"package.module"`
            when the name is unchanged.
        rest: A module whose public names are all served (the module moved there).

    Returns:
        The `__getattr__` to assign in the old module.
    """
    table = dict(names or {})

    def __getattr__(name: str) -> Any:
        if name in table:
            new, value = _resolve(table[name], name)
        elif rest is not None and not name.startswith("_"):
            try:
                new, value = _resolve(rest, name)
            except AttributeError:
                raise AttributeError(f"module {module!r} has no attribute {name!r}") from None
        else:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        warnings.warn(
            f"{module}.{name} is deprecated: use {new} "
            f"(the old name is removed in prefect-dhis2 {REMOVED_IN})",
            DeprecationWarning,
            stacklevel=2,
        )
        return value

    return __getattr__
