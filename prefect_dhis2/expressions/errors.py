"""Errors raised by the expression parser and evaluator."""

from __future__ import annotations

__all__ = ["ExpressionEvaluationError", "ExpressionSyntaxError"]


class ExpressionSyntaxError(ValueError):
    """An expression does not follow the DHIS2 expression grammar.

    Attributes:
        reason: A plain-language explanation, e.g. ``unknown function 'foo('``.
        position: 0-based offset into `text` where the problem was found.
        text: The expression that failed to parse.

    Examples:
        >>> from prefect_dhis2.expressions import parse_expression
        >>> try:
        ...     parse_expression("#{fbfJHSPpUQD} +")
        ... except ExpressionSyntaxError as error:
        ...     print(error.position, error.reason)
        16 expected an operand after '+' but the expression ended
    """

    def __init__(self, reason: str, position: int, text: str) -> None:
        self.reason = reason
        self.position = position
        self.text = text
        super().__init__(f"{reason} (at position {position})")

    def __reduce__(self) -> tuple[type[ExpressionSyntaxError], tuple[str, int, str]]:
        return (type(self), (self.reason, self.position, self.text))


class ExpressionEvaluationError(ValueError):
    """An expression cannot be evaluated locally (e.g. aggregate functions,
    `orgUnit.*`, postfix period functions) or an input it needs is missing."""
