//! minijinja templates in spec fields: `{{ ... }}` and `{% ... %}` over a
//! [`Value`] context (typically a spec's bound `env`).
//!
//! This module owns deciding whether a string is a template, compiling it,
//! rendering it to a typed value or text, and rendering every template in a
//! JSON document. It must not decide which fields may hold templates or
//! what the context contains: callers (the engine's spec loader) do.
//!
//! # Choices
//!
//! * **Strict undefined**: a name or attribute that does not exist is an
//!   error naming it, never a silent empty string in a production spec.
//! * **No auto-escaping**: outputs are configuration values, not HTML.
//! * **Trailing newline kept**: a YAML block string (`|`) renders to the
//!   text its author wrote, newline included.
//! * **Typed results**: a source that is a single `{{ expr }}` yields the
//!   expression's value (`{{ env.port }}` stays an int, a map stays a map),
//!   so templates can fill non-string fields; anything else renders to text.
//! * **Storage**: minijinja templates borrow their source, and its owned
//!   form lives inside an `Environment`. A single expression is compiled
//!   with `compile_expression_owned` against one shared environment (the
//!   common case costs no environment). A text template gets its own
//!   environment holding just it (`add_template_owned`), built once at
//!   compile time; rendering is then a name lookup plus the render, with no
//!   re-parsing and no lock on a shared registry.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, LazyLock};

use minijinja::value::ValueKind;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};

use crate::value::{Map, Value};

/// Why a template could not be compiled or rendered. Messages name the
/// failing expression and its line where minijinja reports them.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum TemplateError {
    #[error("cannot compile template: {message}")]
    Compile { message: String },
    #[error("cannot render template: {message}")]
    Render { message: String },
}

/// A compiled template. Cloning shares the compiled form.
#[derive(Clone)]
pub struct Template {
    inner: Arc<Compiled>,
}

enum Compiled {
    /// The whole source is one `{{ expr }}`: evaluated to a typed value.
    Expression {
        source: Box<str>,
        /// The text between the braces, which minijinja's error positions
        /// refer to.
        inner: Box<str>,
        expression: minijinja::Expression<'static, 'static>,
    },
    /// Anything else: rendered to text from its own environment.
    Text {
        source: Box<str>,
        environment: Environment<'static>,
    },
}

// Templates are compiled once and rendered from any runtime thread.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Template>();
};

/// The name a text template is stored under in its own environment; it
/// appears in minijinja's messages as `(in <template>:LINE)`.
const NAME: &str = "<template>";

/// The shared environment single expressions compile against, and the
/// configuration every text template's environment starts from.
static SHARED: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_keep_trailing_newline(true);
    env
});

/// Whether `s` holds template syntax at all (`{{` or `{%`); plain strings
/// are left alone without the cost of compiling them.
pub fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%")
}

impl Template {
    /// Compiles `source`, as a single typed expression when it is exactly
    /// one `{{ expr }}` (surrounding whitespace allowed), as text otherwise.
    pub fn compile(source: &str) -> Result<Template, TemplateError> {
        let single =
            single_expression(source).and_then(|inner| Some((inner, compile_expression(inner)?)));
        let compiled = match single {
            Some((inner, expression)) => Compiled::Expression {
                source: source.into(),
                inner: inner.into(),
                expression,
            },
            None => {
                let mut environment = SHARED.clone();
                environment
                    .add_template_owned(NAME, source.to_owned())
                    .map_err(|e| TemplateError::Compile {
                        message: describe(&e, source),
                    })?;
                Compiled::Text {
                    source: source.into(),
                    environment,
                }
            }
        };
        Ok(Template {
            inner: Arc::new(compiled),
        })
    }

    /// The source this template was compiled from.
    pub fn source(&self) -> &str {
        match &*self.inner {
            Compiled::Expression { source, .. } | Compiled::Text { source, .. } => source,
        }
    }

    /// If the whole source is a single `{{ expr }}` (surrounding whitespace
    /// allowed), returns the expression's typed value (an int stays an int,
    /// a map stays a map); otherwise renders to a string value.
    pub fn render(&self, context: &Value) -> Result<Value, TemplateError> {
        self.render_with(&minijinja::Value::from_serialize(context))
    }

    /// `render` with a context already converted, so a caller rendering
    /// many templates over one context converts it once.
    fn render_with(&self, context: &minijinja::Value) -> Result<Value, TemplateError> {
        match &*self.inner {
            Compiled::Expression {
                inner, expression, ..
            } => {
                let result = expression
                    .eval(context)
                    .map_err(|e| TemplateError::Render {
                        message: describe(&e, inner),
                    })?;
                // Strict mode makes printing an undefined value an error, but
                // an expression hands it back instead: refuse it here, naming
                // the expression that produced it.
                from_minijinja(&result).map_err(|e| match e {
                    TemplateError::Render { message } if message == UNDEFINED => {
                        TemplateError::Render {
                            message: format!("{UNDEFINED} in `{}`", inner.trim()),
                        }
                    }
                    other => other,
                })
            }
            Compiled::Text {
                source,
                environment,
            } => {
                let render_error = |e: minijinja::Error| TemplateError::Render {
                    message: describe(&e, source),
                };
                let text = environment
                    .get_template(NAME)
                    .and_then(|t| t.render(context))
                    .map_err(render_error)?;
                Ok(Value::String(text.into()))
            }
        }
    }
}

/// Bounds on rendering a template that came with the data
/// ([`render_untrusted`]).
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    /// minijinja's fuel: roughly, instructions run (loops end).
    pub fuel: u64,
    /// The longest text rendered, in bytes.
    pub max_bytes: usize,
}

/// A template from the data, rendered.
#[derive(Clone, Debug, PartialEq)]
pub struct Rendered {
    /// The text.
    pub text: String,
    /// The top-level names the template reads from its context, sorted.
    pub uses: Vec<String>,
}

/// Compiles and renders `source`, a template that came with the data (a
/// stored prompt, say) rather than a spec, within `bounds`: past its fuel
/// or its size the render stops with an error saying which. The same
/// choices as spec templates (strict undefined, no escaping) hold.
pub fn render_untrusted(
    source: &str,
    context: &Value,
    bounds: Bounds,
) -> Result<Rendered, TemplateError> {
    let mut environment = SHARED.clone();
    environment.set_fuel(Some(bounds.fuel));
    let template = environment
        .template_from_str(source)
        .map_err(|e| TemplateError::Compile {
            message: describe(&e, source),
        })?;
    let mut uses: Vec<String> = template.undeclared_variables(false).into_iter().collect();
    uses.sort();
    let mut out = Bounded {
        text: Vec::new(),
        max: bounds.max_bytes,
        over: false,
    };
    let rendered = template.render_captured_to(minijinja::Value::from_serialize(context), &mut out);
    if let Err(e) = rendered {
        let message = match out.over {
            true => format!("the text is longer than {} bytes", bounds.max_bytes),
            false => describe(&e, source),
        };
        return Err(TemplateError::Render { message });
    }
    let text = String::from_utf8(out.text).map_err(|_| TemplateError::Render {
        message: "the text is not UTF-8".to_string(),
    })?;
    Ok(Rendered { text, uses })
}

/// A writer that refuses to grow past `max` bytes, remembering that it
/// did so the caller can tell why the render stopped.
struct Bounded {
    text: Vec<u8>,
    max: usize,
    over: bool,
}

impl std::io::Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.text.len() + buf.len() > self.max {
            self.over = true;
            return Err(std::io::Error::other("too long"));
        }
        self.text.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Template").field(&self.source()).finish()
    }
}

/// Walks a JSON document in place, rendering every string that
/// [`is_template`], except those under the top-level keys listed in `skip`
/// (fields that hold templates for later, e.g. per-packet ones). A rendered
/// value replaces the string in its JSON form, so a typed result fills a
/// typed field. Object keys are never rendered.
///
/// Returns every failure with its field path (`a.b[2].c`; the empty path
/// is the document itself), not just the first, so a spec author sees all
/// of them at once.
pub fn render_json(
    value: &mut serde_json::Value,
    context: &Value,
    skip: &[&str],
) -> Result<(), Vec<(String, TemplateError)>> {
    let context = minijinja::Value::from_serialize(context);
    let mut errors = Vec::new();
    let mut path = String::new();
    match value {
        serde_json::Value::Object(fields) => {
            for (key, field) in fields.iter_mut() {
                if skip.contains(&key.as_str()) {
                    continue;
                }
                path.clear();
                path.push_str(key);
                render_in_place(field, &context, &mut path, &mut errors);
            }
        }
        other => render_in_place(other, &context, &mut path, &mut errors),
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn render_in_place(
    value: &mut serde_json::Value,
    context: &minijinja::Value,
    path: &mut String,
    errors: &mut Vec<(String, TemplateError)>,
) {
    match value {
        serde_json::Value::String(s) if is_template(s) => {
            match Template::compile(s).and_then(|t| t.render_with(context)) {
                Ok(rendered) => *value = crate::json::to_json(&rendered),
                Err(e) => errors.push((path.clone(), e)),
            }
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                render_in_place(item, context, path, errors);
                path.truncate(len);
            }
        }
        serde_json::Value::Object(fields) => {
            for (key, field) in fields.iter_mut() {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                render_in_place(field, context, path, errors);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// The expression inside `source` when `source` looks like exactly one
/// `{{ ... }}` block, with whitespace-control marks (`{{-`, `+}}`...)
/// removed. `None` when the inside holds a `}}` that would end the block
/// early (`{{ a }} and {{ b }}`). Whether the inside really is one
/// expression is then for the expression parser to say.
fn single_expression(source: &str) -> Option<&str> {
    let inner = source.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    let inner = inner.strip_prefix(['-', '+']).unwrap_or(inner);
    let inner = inner.strip_suffix(['-', '+']).unwrap_or(inner);
    (!closes_early(inner)).then_some(inner)
}

/// Whether minijinja's lexer, reading `expr` as an expression, would meet
/// the end-of-block marker `}}` before the end of `expr`. It must be asked
/// first: minijinja 2.24 panics ("empty lexer stack") when an expression it
/// compiles holds such a marker. Mirrors the lexer: `}}` ends the block only
/// outside string literals and outside brackets. Errs on the side of `true`
/// (the source then compiles as a text template, which is always safe).
fn closes_early(expr: &str) -> bool {
    let bytes = expr.as_bytes();
    let mut depth: i64 = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'"' | b'\'') => {
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    // Skip the escaped character, whatever it is.
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' => depth -= 1,
            b'}' => {
                if depth <= 0 && bytes.get(i + 1) == Some(&b'}') {
                    return true;
                }
                depth -= 1;
            }
            _ => {}
        }
        i += 1;
    }
    false
}

/// Compiles a single expression against the shared environment; `None`
/// when it does not parse, so the caller compiles the source as text (and
/// reports that parser's error, which describes the source as written).
fn compile_expression(expr: &str) -> Option<minijinja::Expression<'static, 'static>> {
    // `closes_early` keeps the known panic away; should minijinja panic on
    // some other input, the text template path takes over all the same.
    catch_unwind(AssertUnwindSafe(|| {
        SHARED.compile_expression_owned(expr.to_owned())
    }))
    .ok()?
    .ok()
}

/// minijinja's message, plus the source text of the failing expression
/// when it reports one, so `undefined value` says *which* value.
fn describe(error: &minijinja::Error, source: &str) -> String {
    let mut message = match error.detail() {
        Some(detail) => format!("{}: {detail}", error.kind()),
        None => error.kind().to_string(),
    };
    if let Some(culprit) = error
        .range()
        .and_then(|range| source.get(range))
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        // A syntax error points at a token, anything else at an expression.
        let place = if error.kind() == minijinja::ErrorKind::SyntaxError {
            "at"
        } else {
            "in"
        };
        message.push_str(&format!(" {place} `{culprit}`"));
    }
    if let Some(line) = error.line().filter(|&l| l > 0) {
        message.push_str(&format!(" (line {line})"));
    }
    message
}

/// What minijinja calls an undefined value, for messages that match its own.
const UNDEFINED: &str = "undefined value";

/// A minijinja result as a [`Value`]. Integers beyond `i64` become floats;
/// map keys that are not strings become their text; an undefined value
/// anywhere inside is an error, as strict mode wants.
fn from_minijinja(value: &minijinja::Value) -> Result<Value, TemplateError> {
    let failed = |e: minijinja::Error| TemplateError::Render {
        message: e.to_string(),
    };
    Ok(match value.kind() {
        ValueKind::Undefined => {
            return Err(TemplateError::Render {
                message: UNDEFINED.to_owned(),
            });
        }
        ValueKind::None => Value::Null,
        ValueKind::Bool => Value::Bool(value.is_true()),
        ValueKind::Number => {
            match value.as_i64() {
                Some(i) if value.is_integer() => Value::Int(i),
                // A float, or an integer beyond i64 (minijinja has i128).
                _ => f64::try_from(value.clone())
                    .map(Value::Float)
                    .map_err(failed)?,
            }
        }
        ValueKind::String => Value::String(value.as_str().unwrap_or_default().into()),
        ValueKind::Bytes => Value::Bytes(bytes::Bytes::copy_from_slice(
            value.as_bytes().unwrap_or_default(),
        )),
        ValueKind::Seq | ValueKind::Iterable => Value::List(Arc::new(
            value
                .try_iter()
                .map_err(failed)?
                .map(|item| from_minijinja(&item))
                .collect::<Result<_, _>>()?,
        )),
        ValueKind::Map => {
            let mut map = Map::new();
            for key in value.try_iter().map_err(failed)? {
                let item = value.get_item(&key).map_err(failed)?;
                let key: Arc<str> = match key.as_str() {
                    Some(s) => s.into(),
                    None => key.to_string().into(),
                };
                map.insert(key, from_minijinja(&item)?);
            }
            Value::Map(Arc::new(map))
        }
        ValueKind::Invalid => {
            return Err(TemplateError::Render {
                message: value.to_string(),
            });
        }
        // Plain objects, and kinds later minijinja versions may add: their
        // text is the most faithful thing a Value can hold.
        _ => Value::String(value.to_string().into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), TemplateError>;

    const BOUNDS: Bounds = Bounds {
        fuel: 10_000,
        max_bytes: 1_000,
    };

    #[test]
    fn an_untrusted_template_renders_and_names_what_it_uses() -> TestResult {
        let context = Value::map([
            (
                "script",
                Value::map([("source", Value::string("print(1)"))]),
            ),
            ("pair", Value::map([("name", Value::string("p"))])),
        ]);
        let rendered = render_untrusted(
            "Review {{ script.source }} for {{ pair.name }}",
            &context,
            BOUNDS,
        )?;
        assert_eq!(rendered.text, "Review print(1) for p");
        assert_eq!(rendered.uses, ["pair", "script"]);
        let plain = render_untrusted("No names.", &context, BOUNDS)?;
        assert!(plain.uses.is_empty());
        Ok(())
    }

    #[test]
    fn an_untrusted_template_stops_at_its_fuel_and_its_size() {
        let context = Value::map([("x", Value::Int(1))]);
        let endless =
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}";
        let error = render_untrusted(endless, &context, BOUNDS).unwrap_err();
        assert!(error.to_string().contains("fuel"), "{error}");
        let long = "{% for i in range(500) %}xxxxx{% endfor %}";
        let error = render_untrusted(
            long,
            &context,
            Bounds {
                fuel: 1_000_000,
                max_bytes: 1_000,
            },
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("longer than 1000 bytes"),
            "{error}"
        );
        let error = render_untrusted("{{ nope.at_all }}", &context, BOUNDS).unwrap_err();
        assert!(error.to_string().contains("undefined"), "{error}");
        let error = render_untrusted("{% if %}", &context, BOUNDS).unwrap_err();
        assert!(matches!(error, TemplateError::Compile { .. }), "{error}");
    }

    fn context() -> Value {
        Value::map([(
            "env",
            Value::map([
                ("port", Value::from(8080)),
                ("host", Value::from("db.local")),
                ("ratio", Value::from(0.5)),
                ("debug", Value::from(true)),
                ("tags", Value::list([Value::from("a"), Value::from("b")])),
                ("limits", Value::map([("cpu", Value::from(2))])),
                ("nothing", Value::Null),
            ]),
        )])
    }

    fn render(source: &str) -> Result<Value, TemplateError> {
        Template::compile(source)?.render(&context())
    }

    #[test]
    fn detects_templates() {
        assert!(is_template("{{ x }}"));
        assert!(is_template("a {% if x %}b{% endif %}"));
        assert!(!is_template("plain { text }"));
        assert!(!is_template("{# comment only #}"));
    }

    #[test]
    fn single_expression_keeps_its_type() -> TestResult {
        assert_eq!(render("{{ env.port }}")?, Value::Int(8080));
        assert_eq!(render("  {{ env.port + 1 }}\n")?, Value::Int(8081));
        assert_eq!(render("{{- env.port -}}")?, Value::Int(8080));
        assert_eq!(render("{{ env.ratio }}")?, Value::Float(0.5));
        assert_eq!(render("{{ env.debug }}")?, Value::Bool(true));
        assert_eq!(render("{{ env.nothing }}")?, Value::Null);
        assert_eq!(render("{{ env.host }}")?, Value::from("db.local"));
        assert_eq!(
            render("{{ env.tags }}")?,
            Value::list([Value::from("a"), Value::from("b")])
        );
        assert_eq!(
            render("{{ env.limits }}")?,
            Value::map([("cpu", Value::from(2))])
        );
        assert_eq!(
            render(r#"{{ {"k": [1, env.port]} }}"#)?,
            Value::map([("k", Value::list([Value::from(1), Value::from(8080)]))])
        );
        assert_eq!(render("{{ -1 }}")?, Value::Int(-1));
        assert_eq!(render("{{+ env.port +}}")?, Value::Int(8080));
        assert_eq!(render(r#"{{ "}}{{" }}"#)?, Value::from("}}{{"));
        assert_eq!(render(r#"{{ '\'}}' }}"#)?, Value::from("'}}"));
        assert_eq!(
            render(r#"{{ {"a": {"b": 1}} }}"#)?,
            Value::map([("a", Value::map([("b", Value::from(1))]))])
        );
        Ok(())
    }

    #[test]
    fn block_ends_inside_are_not_single_expressions() -> TestResult {
        // Each of these once reached minijinja's expression compiler with a
        // `}}` inside, which makes it panic.
        assert_eq!(render("{{ env.port }} }}")?, Value::from("8080 }}"));
        assert_eq!(render("{{ env.port }}-{{ 1 }}")?, Value::from("8080-1"));
        assert_eq!(render("{{ (env.port }}{{ 1) }}").ok(), None);
        assert!(closes_early("a }}{{ b"));
        assert!(closes_early("a) }}"));
        assert!(!closes_early(r#""}}" ~ '}}' ~ {"k": {"j": 1}}"#));
        Ok(())
    }

    #[test]
    fn anything_else_renders_to_text() -> TestResult {
        assert_eq!(
            render("postgres://{{ env.host }}:{{ env.port }}/app")?,
            Value::from("postgres://db.local:8080/app")
        );
        assert_eq!(
            render("{{ env.port }}{{ env.port }}")?,
            Value::from("80808080")
        );
        assert_eq!(
            render("{% for t in env.tags %}{{ t }},{% endfor %}")?,
            Value::from("a,b,")
        );
        assert_eq!(render("{{ env.port }} ")?, Value::Int(8080));
        assert_eq!(render("x {{ env.port }}")?, Value::from("x 8080"));
        // No escaping, and the trailing newline stays.
        assert_eq!(render("<{{ '&' }}>\n")?, Value::from("<&>\n"));
        Ok(())
    }

    #[test]
    fn undefined_names_are_errors_naming_them() -> Result<(), String> {
        for source in ["{{ missing }}", "value: {{ missing }}"] {
            match render(source) {
                Err(TemplateError::Render { message }) => {
                    assert!(message.contains("undefined"), "{message}");
                    assert!(message.contains("missing"), "{message}");
                }
                other => return Err(format!("{source}: {other:?}")),
            }
        }
        // Asking about a missing value is not using it.
        assert_eq!(render("{{ env.nope | default(5) }}"), Ok(Value::Int(5)));
        assert_eq!(render("{{ env.nope is defined }}"), Ok(Value::Bool(false)));
        assert_eq!(
            render("{% if env.nope is defined %}y{% else %}n{% endif %}"),
            Ok(Value::from("n"))
        );
        match render("a {{ env.nope }}") {
            Err(TemplateError::Render { message }) => {
                assert!(message.contains("env.nope"), "{message}");
            }
            other => return Err(format!("{other:?}")),
        }
        Ok(())
    }

    #[test]
    fn bad_syntax_is_a_compile_error() {
        for source in ["{{ a + }}", "{% if x %}no end", "{{ x }} and {{ y"] {
            assert!(
                matches!(
                    Template::compile(source),
                    Err(TemplateError::Compile { .. })
                ),
                "{source}"
            );
        }
    }

    #[test]
    fn clones_share_and_threads_can_render() -> TestResult {
        let template = Template::compile("{{ env.port }}:{{ env.host }}")?;
        let copy = template.clone();
        assert!(Arc::ptr_eq(&template.inner, &copy.inner));
        assert_eq!(copy.source(), "{{ env.port }}:{{ env.host }}");
        let handle = std::thread::spawn(move || copy.render(&context()));
        let rendered = handle.join().map_err(|_| TemplateError::Render {
            message: "thread panicked".into(),
        })??;
        assert_eq!(rendered, Value::from("8080:db.local"));
        Ok(())
    }

    #[test]
    fn render_json_renders_in_place() -> Result<(), Vec<(String, TemplateError)>> {
        let mut doc = serde_json::json!({
            "url": "http://{{ env.host }}:{{ env.port }}",
            "port": "{{ env.port }}",
            "nested": {"list": ["{{ env.tags }}", "plain", 3]},
            "when": "{{ payload.ok }}",
        });
        render_json(&mut doc, &context(), &["when"])?;
        assert_eq!(
            doc,
            serde_json::json!({
                "url": "http://db.local:8080",
                "port": 8080,
                "nested": {"list": [["a", "b"], "plain", 3]},
                "when": "{{ payload.ok }}",
            })
        );
        Ok(())
    }

    #[test]
    fn render_json_reports_every_error_with_its_path() {
        let mut doc = serde_json::json!({
            "ok": "{{ env.port }}",
            "a": {"b": [1, 2, {"c": "{{ nope }}"}]},
            "bad": "{{ 1 + }}",
            "skipped": "{{ also_missing }}",
        });
        let Err(errors) = render_json(&mut doc, &context(), &["skipped"]) else {
            panic!("expected errors")
        };
        let paths: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["a.b[2].c", "bad"]);
        assert!(matches!(errors[0].1, TemplateError::Render { .. }));
        assert!(matches!(errors[1].1, TemplateError::Compile { .. }));
        // What could be rendered was.
        assert_eq!(doc["ok"], serde_json::json!(8080));

        let mut root = serde_json::json!("{{ nope }}");
        let Err(errors) = render_json(&mut root, &context(), &[]) else {
            panic!("expected errors")
        };
        assert_eq!(errors[0].0, "");
    }

    #[test]
    fn bytes_in_context_render_as_base64_in_json() -> Result<(), Vec<(String, TemplateError)>> {
        let context = Value::map([("raw", Value::Bytes(bytes::Bytes::from_static(b"foo")))]);
        let mut doc = serde_json::json!({"b": "{{ raw }}"});
        render_json(&mut doc, &context, &[])?;
        assert_eq!(doc, serde_json::json!({"b": "Zm9v"}));
        Ok(())
    }
}
