"""Why an expression has no value; every message is one line meant for the user."""

from __future__ import annotations


class CalculationError(ValueError):
    """An expression that cannot be evaluated; the message is meant for the user."""


class CalculationSyntaxError(CalculationError):
    """The text is not a well-formed expression of the allowed language."""


class CalculationLimitError(CalculationError):
    """The input or a result would exceed one of the ``CalculatorLimits``."""


class CalculationMathError(CalculationError):
    """A well-formed expression with no real, finite value (1/0, sqrt(-1), overflow)."""
