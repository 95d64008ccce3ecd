"""Hooks for scripts/schemathesis.sh: how to make values of the formats the
Weir OpenAPI document uses beyond JSON Schema's own.

A field with `format: cel` holds a CEL expression the engine compiles when
the spec is admitted; JSON Schema cannot say which strings compile, so the
format says it and this strategy makes ones that do (random text would be
refused, rightly, and say nothing about the API).
"""
import schemathesis
from hypothesis import strategies as st


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

# `format: http-url`: an absolute `http://` or `https://` URL (the engine
# also takes IRIs, so the format is its own, not JSON Schema's `uri`).
from hypothesis.provisional import urls  # noqa: E402

schemathesis.openapi.format("http-url", urls())

# `format: javascript`: an ES module whose default export the snippet calls.
_js_expressions = st.one_of(
    st.integers(min_value=-1000, max_value=1000).map(str),
    st.just("p"),
    st.text(alphabet="abcxyz ", max_size=8).map(lambda t: '"' + t + '"'),
    st.just("[p, 1]"),
)
schemathesis.openapi.format(
    "javascript",
    _js_expressions.map(lambda e: "export default function (p) { return " + e + "; }"),
)

# `format: json-text` / `yaml-text`: a constant written as text (JSON is
# also YAML).
import json  # noqa: E402

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
schemathesis.openapi.format("json-text", _json.map(json.dumps))
schemathesis.openapi.format("yaml-text", _json.map(json.dumps))
