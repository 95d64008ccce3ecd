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

# YAML bodies. The engine reads YAML 1.2 (core schema), where a plain
# `1e100` or `0o17` is a number; PyYAML, which schemathesis writes YAML
# with, follows YAML 1.1 and leaves such strings unquoted, so the engine
# would read a number where the case meant a string. Quoting every string
# writes each value as it was generated, in either version.
import yaml  # noqa: E402


class _QuotedStrings(yaml.SafeDumper):
    pass


_QuotedStrings.add_representer(
    str, lambda dumper, text: dumper.represent_scalar("tag:yaml.org,2002:str", text, style='"')
)


# Every YAML media type: schemathesis picks the first that matches.
@schemathesis.serializer(
    "text/yaml", "text/x-yaml", "text/vnd.yaml", "text/yml", "application/yaml", "application/x-yaml"
)
def _yaml_1_2(ctx, value):
    if isinstance(value, bytes):
        return value
    return yaml.dump(value, Dumper=_QuotedStrings, allow_unicode=False).encode("utf-8")

# `format: json-text` / `yaml-text`: a constant written as text (JSON is
# also YAML).
import json  # noqa: E402

# Text as JSON and YAML can hold it: no lone surrogate (`\udc00` is no
# character, and neither parser takes one).
_text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=8)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=6,
)
schemathesis.openapi.format("json-text", _json.map(json.dumps))
# YAML written as the bodies are (JSON text is not always YAML: `\ud834\udd1e`
# is one character to JSON, two invalid escapes to YAML).
schemathesis.openapi.format(
    "yaml-text", _json.map(lambda v: yaml.dump(v, Dumper=_QuotedStrings, allow_unicode=False))
)

# `format: sql`: one SQL statement, its parameters `:name` or `$n` (one
# style), which the engine reads for either backend.
_sql_names = st.sampled_from(["a", "b", "id", "name"])
schemathesis.openapi.format(
    "sql",
    st.one_of(
        st.just("SELECT 1"),
        st.lists(_sql_names, min_size=1, max_size=3).map(
            lambda names: "SELECT " + ", ".join(":" + n for n in names)
        ),
        st.integers(min_value=1, max_value=3).map(
            lambda n: "SELECT " + ", ".join("$" + str(i) for i in range(1, n + 1))
        ),
    ),
)
