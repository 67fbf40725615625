"""Errors raised by the expression language.

``ExpressionError`` is the only exception evaluation raises on purpose; its message is Altinn's message
word for word, because service developers search for those texts and the shared tests match on them.
``InvalidExpressionError`` is raised before evaluation, when the expression itself is malformed.
"""


class ExpressionError(Exception):
    """An expression failed while being evaluated (wrong type, missing component, bad argument...)."""


class InvalidExpressionError(ExpressionError):
    """An expression is malformed: unknown function, wrong number of arguments, non-literal operator."""
