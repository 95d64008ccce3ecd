"""Hooks for scripts/schemathesis.sh: how to make values of the formats the
Weir OpenAPI document uses beyond JSON Schema's own.

A field with `format: cel` holds a CEL expression the engine compiles when
the spec is admitted; JSON Schema cannot say which strings compile, so the
format says it and this strategy makes ones that do (random text would be
refused, rightly, and say nothing about the API).
"""
import schemathesis
from hypothesis import strategies as st

_names = st.sampled_from(["payload", "self", "size", "x"])
_literals = st.one_of(
    st.integers(min_value=-1000, max_value=1000).map(str),
    st.booleans().map(lambda b: "true" if b else "false"),
    st.text(alphabet="abcxyz ", max_size=8).map(lambda t: '"' + t + '"'),
)
_atoms = st.one_of(_literals, st.just("payload"), st.just("has(payload.x)"))
_cel = st.recursive(
    _atoms,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from([" == ", " != ", " && ", " || "]), inner).map("".join),
        inner.map(lambda e: "(" + e + ")"),
        inner.map(lambda e: "!(" + e + ")"),
    ),
    max_leaves=6,
)

schemathesis.openapi.format("cel", _cel)
