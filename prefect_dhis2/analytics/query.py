"""A validated description of one DHIS2 analytics request, rendered as its exact query.

`AnalyticsQuery` holds what `GET /api/analytics` takes: the data (`dx`),
organisation unit (`ou`) and period (`pe`) dimensions, filters, extra
dimensions such as `co` or category UIDs, and flags such as `skipMeta` or
`displayProperty`. It checks every item before any request is made (UIDs,
operands, org unit keywords, ISO and relative periods) and mirrors the
server's own request rules locally (E7102-E7108, E7111), so a bad request
fails with a message naming the bad item instead of a 409 from the server.

It is pure: rendering (`to_params`, `to_query_string`, `url`), cache keys
(`canonical_key`, relative periods resolved at a date) and size estimates
(`estimated_rows`, `url_length`) need no network.

Examples:
    >>> from datetime import date
    >>> q = AnalyticsQuery(
    ...     data_items=["fbfJHSPpUQD", "cYeuwXTCPkU"],
    ...     org_units=["ImspTQPwCqd", "LEVEL-2"],
    ...     periods=["LAST_4_QUARTERS"],
    ...     skip_meta=True,
    ... )
    >>> q.to_query_string()
    'dimension=dx:fbfJHSPpUQD;cYeuwXTCPkU&dimension=ou:ImspTQPwCqd;LEVEL-2&dimension=pe:LAST_4_QUARTERS&skipMeta=true'
    >>> [p.id for p in q.resolved_periods(date(2022, 1, 1))]
    ['2021Q1', '2021Q2', '2021Q3', '2021Q4']
    >>> q.estimated_rows(level_sizes={2: 14}, at=date(2022, 1, 1))
    112
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from prefect_dhis2.periods import (
    Period,
    is_relative_period,
    parse_period,
    resolve_relative_period,
)
from prefect_dhis2.uids import is_valid_uid
from prefect_dhis2.vocabulary import AGGREGATION_TYPES, REPORTING_RATE_METRICS

__all__ = [
    "AGGREGATION_TYPES",
    "REPORTING_RATE_METRICS",
    "AnalyticsQuery",
    "validate_data_item",
    "validate_org_unit_item",
    "validate_period_item",
]

_UID = r"[A-Za-z][A-Za-z0-9]{10}"

# REPORTING_RATE_METRICS and AGGREGATION_TYPES come from prefect_dhis2.vocabulary.

_DX_PATTERNS = (
    re.compile(rf"{_UID}"),
    # Operands de.coc[.aoc] with `*` wildcards, and program data elements/attributes.
    re.compile(rf"{_UID}\.(?:{_UID}|\*)(?:\.(?:{_UID}|\*))?"),
    re.compile(rf"{_UID}\.(?:{'|'.join(REPORTING_RATE_METRICS)})"),
    re.compile(rf"(?:DE_GROUP|IN_GROUP)-{_UID}"),
)
_OU_KEYWORDS = ("USER_ORGUNIT", "USER_ORGUNIT_CHILDREN", "USER_ORGUNIT_GRANDCHILDREN")
_OU_LEVEL = re.compile(rf"LEVEL-(?:([1-9][0-9]*)|({_UID}))")
_OU_GROUP = re.compile(rf"OU_GROUP-{_UID}")
_ID_SCHEME = re.compile(rf"UID|CODE|NAME|ID|ATTRIBUTE:{_UID}")
_MEASURE_CRITERIA = re.compile(
    r"(?:EQ|GT|GE|LT|LE):-?\d+(?:\.\d+)?(?:;(?:EQ|GT|GE|LT|LE):-?\d+(?:\.\d+)?)*"
)
_FIXED_DIMENSIONS = ("dx", "ou", "pe")
_OTHER_DIMENSIONS = ("co", "ao")


def validate_data_item(item: str) -> str:
    """Check one `dx` item: UID, operand, reporting rate, or data element/indicator group.

    Raises:
        ValueError: If `item` has none of those forms.

    Examples:
        >>> validate_data_item("fbfJHSPpUQD.*")
        'fbfJHSPpUQD.*'
    """
    if isinstance(item, str) and any(p.fullmatch(item) for p in _DX_PATTERNS):
        return item
    raise ValueError(
        f"Invalid data item {item!r} in dx: expected a UID, an operand such as "
        "'deUid.cocUid' or 'deUid.*', 'dsUid.REPORTING_RATE' (or another data set metric), "
        "'DE_GROUP-<uid>' or 'IN_GROUP-<uid>'."
    )


def validate_org_unit_item(item: str) -> str:
    """Check one `ou` item: UID, `LEVEL-n`, `LEVEL-<uid>`, `OU_GROUP-<uid>` or a user keyword.

    Raises:
        ValueError: If `item` has none of those forms.

    Examples:
        >>> validate_org_unit_item("LEVEL-3")
        'LEVEL-3'
    """
    if isinstance(item, str) and (
        is_valid_uid(item)
        or item in _OU_KEYWORDS
        or _OU_LEVEL.fullmatch(item)
        or _OU_GROUP.fullmatch(item)
    ):
        return item
    raise ValueError(
        f"Invalid org unit {item!r} in ou: expected a UID, 'LEVEL-<n>' (n >= 1), "
        "'LEVEL-<uid>', 'OU_GROUP-<uid>', 'USER_ORGUNIT', 'USER_ORGUNIT_CHILDREN' "
        "or 'USER_ORGUNIT_GRANDCHILDREN'."
    )


def validate_period_item(item: str) -> str:
    """Check one `pe` item: an ISO period (`202401`) or a relative keyword (`LAST_12_MONTHS`).

    ISO periods are returned in their canonical form (`2024-01` becomes `202401`).

    Raises:
        ValueError: Naming the item and what is wrong with it.

    Examples:
        >>> validate_period_item("2024-01"), validate_period_item("THIS_YEAR")
        ('202401', 'THIS_YEAR')
    """
    if not isinstance(item, str):
        # ValueError, not TypeError: pydantic turns only ValueError into a ValidationError.
        raise ValueError(f"Invalid period {item!r} in pe: expected a string.")
    if is_relative_period(item):
        return item
    try:
        return parse_period(item).id
    except ValueError as exc:
        raise ValueError(
            f"{exc} Relative keywords such as LAST_12_MONTHS are accepted too."
        ) from None


def _validate_dimension_id(dim: str, where: str) -> str:
    if dim in _FIXED_DIMENSIONS or dim in _OTHER_DIMENSIONS or is_valid_uid(dim):
        return dim
    raise ValueError(
        f"Invalid {where} dimension {dim!r}: expected dx, ou, pe, co, ao or the UID of a "
        "category, category option group set, data element group set or org unit group set."
    )


def _validate_items(dim: str, items: Sequence[str]) -> tuple[str, ...]:
    if dim == "dx":
        checked = [validate_data_item(i) for i in items]
    elif dim == "ou":
        checked = [validate_org_unit_item(i) for i in items]
    elif dim == "pe":
        checked = [validate_period_item(i) for i in items]
    else:
        for item in items:
            if not is_valid_uid(item):
                raise ValueError(
                    f"Invalid item {item!r} in dimension {dim}: expected an 11-character UID."
                )
        checked = list(items)
    return tuple(dict.fromkeys(checked))  # drop repeats, keep order


def _split_items(value: Any, what: str) -> list[str]:
    """Accept `"A;B"` or `["A", "B"]`; reject anything else."""
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in value.split(";") if v] if value else []
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        items = list(value)
        for item in items:
            if not isinstance(item, str):
                raise ValueError(f"Invalid item {item!r} in {what}: expected a string.")
        return items
    raise ValueError(f"Invalid {what} {value!r}: expected a list of strings or 'A;B'.")


def _parse_dimension_spec(value: Any, what: str) -> dict[str, list[str]]:
    """Normalise `["ou:A;B", "co"]` or `{"ou": ["A", "B"], "co": []}` to a dict."""
    if value is None:
        return {}
    result: dict[str, list[str]] = {}
    if isinstance(value, Mapping):
        pairs = [(str(k), _split_items(v, f"{what} {k}")) for k, v in value.items()]
    else:
        pairs = []
        for spec in _split_items(value, what):
            name, _, joined = spec.partition(":")
            pairs.append((name, _split_items(joined, f"{what} {name}")))
    for dim, items in pairs:
        if dim in result:
            # E7111: Dimensions cannot be specified more than once.
            raise ValueError(f"Dimension {dim!r} is given more than once in {what}.")
        result[dim] = items
    return result


class AnalyticsQuery(BaseModel):
    """One analytics request: dimensions, filters and flags, validated before sending.

    Flags left at `None` are not sent, so the server's defaults apply.

    Attributes:
        data_items: `dx` items: data element, indicator or program indicator UIDs,
            operands `de.coc`, `de.*`, `de.coc.aoc`, `ds.REPORTING_RATE` (and the
            other data set metrics), `DE_GROUP-<uid>`, `IN_GROUP-<uid>`.
        org_units: `ou` items: UIDs, `LEVEL-<n>`, `LEVEL-<uid>`, `OU_GROUP-<uid>`,
            `USER_ORGUNIT`, `USER_ORGUNIT_CHILDREN`, `USER_ORGUNIT_GRANDCHILDREN`.
            With levels or groups, plain UIDs act as boundaries.
        periods: `pe` items: ISO periods or relative keywords.
        start_date: Start of a date range used instead of periods.
        end_date: End of that range (inclusive).
        filters: Filter dimensions, as strings (`["ou:ImspTQPwCqd"]`) or a mapping
            (`{"ou": ["ImspTQPwCqd"]}`).
        dimensions: Extra dimensions (`co`, `ao`, category or group set UIDs), as
            strings or a mapping; no items means all items (`{"co": []}`).
        dimension_order: The order of the `dimension=` params, hence of the
            response columns. Defaults to dx, ou, pe, then the extra dimensions.
        indicator_ids: UIDs known to be indicators. Used only for the local
            "single indicator as filter" check (E7108); never sent.

    Examples:
        >>> AnalyticsQuery(
        ...     data_items="fbfJHSPpUQD", periods=["2024"], filters=["ou:ImspTQPwCqd"],
        ...     dimensions={"co": []}, display_property="SHORTNAME",
        ... ).to_params()  # doctest: +NORMALIZE_WHITESPACE
        [('dimension', 'dx:fbfJHSPpUQD'), ('dimension', 'pe:2024'), ('dimension', 'co'),
         ('filter', 'ou:ImspTQPwCqd'), ('displayProperty', 'SHORTNAME')]
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_items: tuple[str, ...] = ()
    org_units: tuple[str, ...] = ()
    periods: tuple[str, ...] = ()
    start_date: date | None = None
    end_date: date | None = None
    filters: dict[str, tuple[str, ...]] = {}
    dimensions: dict[str, tuple[str, ...]] = {}
    dimension_order: tuple[str, ...] | None = None

    skip_meta: bool | None = None
    skip_data: bool | None = None
    skip_rounding: bool | None = None
    include_num_den: bool | None = None
    include_metadata_details: bool | None = None
    hierarchy_meta: bool | None = None
    show_hierarchy: bool | None = None
    ignore_limit: bool | None = None
    display_property: Literal["NAME", "SHORTNAME"] | None = None
    output_id_scheme: str | None = None
    output_org_unit_id_scheme: str | None = None
    output_data_element_id_scheme: str | None = None
    input_id_scheme: str | None = None
    aggregation_type: str | None = None
    measure_criteria: str | None = None
    relative_period_date: date | None = None
    order: Literal["ASC", "DESC"] | None = None
    user_org_unit: tuple[str, ...] = ()
    approval_level: str | None = None

    indicator_ids: frozenset[str] = frozenset()

    # ------------------------------------------------------------------ validation

    @field_validator("data_items", mode="before")
    @classmethod
    def _check_dx(cls, value: Any) -> tuple[str, ...]:
        return _validate_items("dx", _split_items(value, "dx"))

    @field_validator("org_units", mode="before")
    @classmethod
    def _check_ou(cls, value: Any) -> tuple[str, ...]:
        return _validate_items("ou", _split_items(value, "ou"))

    @field_validator("periods", mode="before")
    @classmethod
    def _check_pe(cls, value: Any) -> tuple[str, ...]:
        return _validate_items("pe", _split_items(value, "pe"))

    @field_validator("filters", mode="before")
    @classmethod
    def _check_filters(cls, value: Any) -> dict[str, tuple[str, ...]]:
        result: dict[str, tuple[str, ...]] = {}
        for dim, items in _parse_dimension_spec(value, "filters").items():
            _validate_dimension_id(dim, "filter")
            if not items:
                raise ValueError(f"Filter {dim!r} has no items; a filter needs at least one.")
            result[dim] = _validate_items(dim, items)
        return result

    @field_validator("dimensions", mode="before")
    @classmethod
    def _check_dimensions(cls, value: Any) -> dict[str, tuple[str, ...]]:
        result: dict[str, tuple[str, ...]] = {}
        for dim, items in _parse_dimension_spec(value, "dimensions").items():
            _validate_dimension_id(dim, "extra")
            if dim in _FIXED_DIMENSIONS:
                field = {"dx": "data_items", "ou": "org_units", "pe": "periods"}[dim]
                raise ValueError(f"Give the {dim} dimension through `{field}`, not `dimensions`.")
            result[dim] = _validate_items(dim, items)
        return result

    @field_validator("user_org_unit", mode="before")
    @classmethod
    def _check_user_org_unit(cls, value: Any) -> tuple[str, ...]:
        return _validate_items("userOrgUnit", _split_items(value, "userOrgUnit"))

    @field_validator(
        "output_id_scheme",
        "output_org_unit_id_scheme",
        "output_data_element_id_scheme",
        "input_id_scheme",
    )
    @classmethod
    def _check_id_scheme(cls, value: str | None) -> str | None:
        if value is not None and not _ID_SCHEME.fullmatch(value):
            raise ValueError(
                f"Invalid id scheme {value!r}: expected UID, CODE, NAME, ID or ATTRIBUTE:<uid>."
            )
        return value

    @field_validator("aggregation_type")
    @classmethod
    def _check_aggregation_type(cls, value: str | None) -> str | None:
        if value is not None and value not in AGGREGATION_TYPES:
            raise ValueError(
                f"Invalid aggregation type {value!r}; expected one of "
                f"{', '.join(sorted(AGGREGATION_TYPES))}."
            )
        return value

    @field_validator("measure_criteria")
    @classmethod
    def _check_measure_criteria(cls, value: str | None) -> str | None:
        if value is not None and not _MEASURE_CRITERIA.fullmatch(value):
            raise ValueError(
                f"Invalid measure criteria {value!r}: expected e.g. 'GE:10;LT:100' "
                "(operators EQ, GT, GE, LT, LE)."
            )
        return value

    @field_validator("approval_level")
    @classmethod
    def _check_approval_level(cls, value: str | None) -> str | None:
        if value is not None and not is_valid_uid(value):
            raise ValueError(f"Invalid approval level {value!r}: expected a UID.")
        return value

    @model_validator(mode="after")
    def _check_request_rules(self) -> AnalyticsQuery:
        present = self._dimension_ids()
        # E7103: a dimension cannot be both a dimension and a filter.
        both = [dim for dim in present if dim in self.filters]
        if both:
            raise ValueError(
                "Dimensions cannot be given as dimension and filter at the same time: "
                f"{', '.join(both)}."
            )
        # E7102: at least one data item, as dimension or filter.
        if not self.data_items and "dx" not in self.filters:
            raise ValueError("At least one data item (dx) must be given, as dimension or filter.")
        has_dates = self.start_date is not None or self.end_date is not None
        has_periods = bool(self.periods) or "pe" in self.filters
        # E7105 / E7104 / E7106: periods or a complete date range, start <= end.
        if has_dates and has_periods:
            raise ValueError("Periods cannot be combined with start_date/end_date.")
        if has_dates and (self.start_date is None or self.end_date is None):
            raise ValueError("start_date and end_date must be given together.")
        if not has_dates and not has_periods:
            raise ValueError(
                "At least one period (pe) as dimension or filter, or start_date and "
                "end_date, must be given."
            )
        if self.start_date and self.end_date and self.start_date > self.end_date:
            raise ValueError(f"start_date {self.start_date} is after end_date {self.end_date}.")
        # E7108: only a single indicator as filter (checked for known indicators).
        dx_filter = self.filters.get("dx", ())
        indicators = [i for i in dx_filter if i in self.indicator_ids or i.startswith("IN_GROUP-")]
        if len(indicators) > 1:
            raise ValueError(
                f"Only a single indicator can be given as filter, not {', '.join(indicators)}."
            )
        order = self.dimension_order
        if order is not None and sorted(order) != sorted(present):
            raise ValueError(
                f"dimension_order {list(order)} must list each dimension of the query "
                f"exactly once: {present}."
            )
        return self

    def _dimension_ids(self) -> list[str]:
        present = [
            dim
            for dim, items in (
                ("dx", self.data_items),
                ("ou", self.org_units),
                ("pe", self.periods),
            )
            if items
        ]
        return present + list(self.dimensions)

    # ------------------------------------------------------------------ rendering

    @property
    def ordered_dimensions(self) -> list[tuple[str, tuple[str, ...]]]:
        """The dimensions with their items, in request (and response column) order."""
        items = {
            "dx": self.data_items,
            "ou": self.org_units,
            "pe": self.periods,
            **self.dimensions,
        }
        order = self.dimension_order or tuple(self._dimension_ids())
        return [(dim, items[dim]) for dim in order]

    def to_params(self) -> list[tuple[str, str]]:
        """Render the query as (name, value) pairs, unencoded, in a stable order.

        Dimensions come first (`dimension=dx:A;B`, one param each, in
        `dimension_order`), then filters, the date range and every flag that is
        set (camelCase names, booleans as `true`/`false`).

        Examples:
            >>> AnalyticsQuery(data_items=["fbfJHSPpUQD"], start_date=date(2024, 1, 1),
            ...     end_date=date(2024, 3, 31), include_num_den=False).to_params()
            ... # doctest: +NORMALIZE_WHITESPACE
            [('dimension', 'dx:fbfJHSPpUQD'), ('startDate', '2024-01-01'),
             ('endDate', '2024-03-31'), ('includeNumDen', 'false')]
        """
        params: list[tuple[str, str]] = []
        for dim, items in self.ordered_dimensions:
            params.append(("dimension", f"{dim}:{';'.join(items)}" if items else dim))
        for dim, items in self.filters.items():
            params.append(("filter", f"{dim}:{';'.join(items)}"))
        for name, value in self._flag_values():
            params.append((name, value))
        return params

    def _flag_values(self) -> list[tuple[str, str]]:
        flags: list[tuple[str, object]] = [
            ("startDate", self.start_date),
            ("endDate", self.end_date),
            ("skipMeta", self.skip_meta),
            ("skipData", self.skip_data),
            ("skipRounding", self.skip_rounding),
            ("includeNumDen", self.include_num_den),
            ("includeMetadataDetails", self.include_metadata_details),
            ("hierarchyMeta", self.hierarchy_meta),
            ("showHierarchy", self.show_hierarchy),
            ("ignoreLimit", self.ignore_limit),
            ("displayProperty", self.display_property),
            ("outputIdScheme", self.output_id_scheme),
            ("outputOrgUnitIdScheme", self.output_org_unit_id_scheme),
            ("outputDataElementIdScheme", self.output_data_element_id_scheme),
            ("inputIdScheme", self.input_id_scheme),
            ("aggregationType", self.aggregation_type),
            ("measureCriteria", self.measure_criteria),
            ("relativePeriodDate", self.relative_period_date),
            ("order", self.order),
            ("userOrgUnit", ";".join(self.user_org_unit) or None),
            ("approvalLevel", self.approval_level),
        ]
        rendered: list[tuple[str, str]] = []
        for name, value in flags:
            if value is None:
                continue
            if isinstance(value, bool):
                rendered.append((name, "true" if value else "false"))
            elif isinstance(value, date):
                rendered.append((name, value.isoformat()))
            else:
                rendered.append((name, str(value)))
        return rendered

    def to_query_string(self, *, strict_encoding: bool = False) -> str:
        """Render the query string (without `?`).

        By default `:` `;` `,` and `*` are kept as is, the way DHIS2's own
        documentation and apps write analytics URLs; `strict_encoding=True`
        percent-encodes them too, as form encoding does.
        """
        safe = "" if strict_encoding else ":;,*"
        return "&".join(f"{quote(k, safe='')}={quote(v, safe=safe)}" for k, v in self.to_params())

    def url(self, base_url: str, *, strict_encoding: bool = False) -> str:
        """The full request URL for the server at `base_url` (with or without `/api`).

        Examples:
            >>> AnalyticsQuery(data_items="fbfJHSPpUQD", periods="2024").url(
            ...     "https://play.dhis2.org/40/")
            'https://play.dhis2.org/40/api/analytics?dimension=dx:fbfJHSPpUQD&dimension=pe:2024'
        """
        base = base_url.rstrip("/")
        if not re.search(r"/api(?:/\d+)?$", base):
            base += "/api"
        return f"{base}/analytics?{self.to_query_string(strict_encoding=strict_encoding)}"

    def url_length(self, base_url: str, *, strict_encoding: bool = False) -> int:
        """Length in characters of `url(base_url)`, for URL-length budgets."""
        return len(self.url(base_url, strict_encoding=strict_encoding))

    # ------------------------------------------------------------------ periods and keys

    def _anchor(self, at: date | None) -> date | None:
        return at if at is not None else self.relative_period_date

    def resolved_periods(
        self, at: date | None = None, financial_year_start: str = "October"
    ) -> list[Period]:
        """The fixed periods of the `pe` dimension (or `pe` filter), relative ones resolved.

        Args:
            at: The date relative periods are resolved at; defaults to
                `relative_period_date`. Needed only when a relative keyword is present.
            financial_year_start: The server's financial year start (see
                `prefect_dhis2.periods.resolve_relative_period`).

        Returns:
            Distinct periods in request order (empty with a date range).

        Raises:
            ValueError: If a relative keyword is present and no date is known.
        """
        items = self.periods or self.filters.get("pe", ())
        anchor = self._anchor(at)
        result: dict[Period, None] = {}
        for item in items:
            if is_relative_period(item):
                if anchor is None:
                    raise ValueError(
                        f"Relative period {item} needs a date: pass `at` or set "
                        "relative_period_date."
                    )
                for period in resolve_relative_period(item, anchor, financial_year_start):
                    result.setdefault(period)
            else:
                result.setdefault(parse_period(item))
        return list(result)

    def canonical_form(
        self, at: date | None = None, financial_year_start: str = "October"
    ) -> dict[str, Any]:
        """A JSON-able description equal for every query asking the same thing.

        Items are sorted within each dimension and filter, filters are sorted by
        dimension, relative periods are replaced by the fixed periods they
        resolve to at `at`, and unset flags are left out. The order of the
        dimensions is kept: it decides the column order of the response.
        """
        pe = sorted(self.resolved_periods(at, financial_year_start))
        pe_ids = [p.id for p in pe]

        def items_of(dim: str, items: Sequence[str]) -> list[str]:
            return pe_ids if dim == "pe" else sorted(items)

        flags = [
            (name, value)
            for name, value in self._flag_values()
            if name not in ("relativePeriodDate", "startDate", "endDate")
        ]
        return {
            "dimensions": [[dim, items_of(dim, items)] for dim, items in self.ordered_dimensions],
            "filters": [[dim, items_of(dim, self.filters[dim])] for dim in sorted(self.filters)],
            "dates": [
                self.start_date.isoformat() if self.start_date else None,
                self.end_date.isoformat() if self.end_date else None,
            ],
            "flags": sorted(flags),
        }

    def canonical_key(self, at: date | None = None, financial_year_start: str = "October") -> str:
        """A SHA-256 hex digest of `canonical_form`, for cache keys.

        Examples:
            >>> a = AnalyticsQuery(data_items=["cYeuwXTCPkU", "fbfJHSPpUQD"], periods=["LAST_YEAR"])
            >>> b = AnalyticsQuery(data_items=["fbfJHSPpUQD", "cYeuwXTCPkU"], periods=["2021"])
            >>> a.canonical_key(date(2022, 6, 1)) == b.canonical_key()
            True
        """
        form = self.canonical_form(at, financial_year_start)
        text = json.dumps(form, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    # ------------------------------------------------------------------ estimates

    def estimated_rows(
        self,
        level_sizes: Mapping[int | str, int] | None = None,
        *,
        item_sizes: Mapping[str, int] | None = None,
        at: date | None = None,
        financial_year_start: str = "October",
    ) -> int:
        """Estimate the number of rows: product of the item counts of every dimension.

        Filters do not multiply rows. Plain UIDs and ISO periods count one each;
        relative periods count the periods they resolve to. Items that stand for
        several rows are counted through the mappings:

        - `LEVEL-<n>` / `LEVEL-<uid>`: `level_sizes[n]` (or `[uid]`), the number of
          org units at that level. When levels or groups are present, plain org
          unit UIDs are boundaries and add no rows, so the estimate is an upper
          bound.
        - `OU_GROUP-<uid>`, `USER_ORGUNIT_CHILDREN`, `USER_ORGUNIT_GRANDCHILDREN`,
          `DE_GROUP-<uid>`, `IN_GROUP-<uid>`, wildcard operands such as `de.*`,
          and extra dimensions given without items (`co`): `item_sizes[item]`.
          (`USER_ORGUNIT` counts one unless `item_sizes` says otherwise.)

        Raises:
            ValueError: Naming the first item whose size is needed and not given.

        Examples:
            >>> q = AnalyticsQuery(data_items=["fbfJHSPpUQD"], org_units=["LEVEL-4"],
            ...     periods=["202401", "202402"], dimensions={"co": []})
            >>> q.estimated_rows({4: 1000}, item_sizes={"co": 4})
            8000
        """
        levels = dict(level_sizes or {})
        sizes = dict(item_sizes or {})

        def size_of(item: str) -> int:
            if item in sizes:
                return sizes[item]
            raise ValueError(f"Cannot estimate the rows of {item!r}: pass its size in item_sizes.")

        total = 1
        for dim, items in self.ordered_dimensions:
            if dim == "pe":
                count = len(self.resolved_periods(at, financial_year_start))
            elif dim == "ou":
                count = self._org_unit_rows(levels, sizes, size_of)
            elif dim == "dx":
                count = sum(
                    size_of(i) if i.startswith(("DE_GROUP-", "IN_GROUP-")) or "*" in i else 1
                    for i in items
                )
            else:
                count = len(items) if items else size_of(dim)
            total *= count
        return total

    def _org_unit_rows(
        self,
        levels: Mapping[int | str, int],
        sizes: Mapping[str, int],
        size_of: Callable[[str], int],
    ) -> int:
        expanding = [i for i in self.org_units if i.startswith(("LEVEL-", "OU_GROUP-"))]
        count = 0
        for item in expanding:
            if match := _OU_LEVEL.fullmatch(item):
                key: int | str = int(match[1]) if match[1] else match[2]
                if key not in levels:
                    raise ValueError(
                        f"Cannot estimate the rows of {item!r}: pass the number of org units "
                        f"at level {key} in level_sizes."
                    )
                count += levels[key]
            else:
                count += size_of(item)
        if expanding:
            return count  # plain UIDs are boundaries here
        for item in self.org_units:
            if item == "USER_ORGUNIT":
                count += sizes.get(item, 1)
            elif item in _OU_KEYWORDS:
                count += size_of(item)
            else:
                count += 1
        return count

    # ------------------------------------------------------------------ copies

    def replace(self, **changes: Any) -> AnalyticsQuery:
        """Return a validated copy with some fields changed (e.g. a shard's periods).

        Examples:
            >>> q = AnalyticsQuery(data_items="fbfJHSPpUQD", periods=["2023", "2024"])
            >>> q.replace(periods=["2024"]).to_query_string()
            'dimension=dx:fbfJHSPpUQD&dimension=pe:2024'
        """
        data = self.model_dump()
        data.update(changes)
        return type(self).model_validate(data)
