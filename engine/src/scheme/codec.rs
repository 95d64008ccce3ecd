//! [`Codec`]: the untyped face of a [`Kind`], as the scheme stores it.
//!
//! The blanket [`KindCodec`] turns any kind into a codec: it decodes the
//! spec's own fields into the kind's typed struct (reporting the field path
//! of a bad field), asks the kind for its ports, and compiles. No kind needs
//! to implement this trait by hand.

use std::sync::Arc;

use serde_json::Value as Json;

use super::Context;
use super::kind::Kind;
use crate::diagnostic::FieldError;
use crate::port::Ports;
use crate::runtime::Activate;

/// Decodes, validates and compiles specs of one kind.
pub trait Codec: Send + Sync {
    /// The kind name.
    fn kind(&self) -> &'static str;
    /// One line on what the kind does.
    fn summary(&self) -> &'static str;
    /// The JSON Schema of the kind's own fields.
    fn schema(&self) -> Json;
    /// The same schema for another document (the system API's OpenAPI
    /// description): the types it uses become `generator`'s definitions,
    /// and what comes back may be a reference to one of them.
    fn subschema(&self, generator: &mut schemars::SchemaGenerator) -> Json;
    /// The ports a spec with these fields would have, if they decode (for
    /// describing a kind; nothing is compiled).
    fn ports(&self, fields: Json) -> Option<Ports>;
    /// Fields the loader must not template.
    fn runtime_templates(&self) -> &'static [&'static str];
    /// Compiles a spec whose own fields (env already rendered) are `fields`
    /// into what starts its nodes, and the ports it has (for link checks).
    fn compile(
        &self,
        cx: &Context<'_>,
        fields: Json,
    ) -> Result<(Arc<dyn Activate>, Ports), Vec<FieldError>>;
}

/// How every kind's schema is generated: JSON Schema 2020-12, with each
/// integer bounded by its Rust type's range (and by `i64`'s, which values
/// hold integers in). Without the bound a schema
/// allows `1e30` for a `u64`, which no decoder takes; with it, what the
/// schema allows decodes.
pub fn schema_settings() -> schemars::generate::SchemaSettings {
    schemars::generate::SchemaSettings::draft2020_12()
        .with_transform(schemars::transform::RecursiveTransform(bound_integer))
}

/// Sets `minimum`/`maximum` of an integer schema from its `format`, where
/// the schema does not set them tighter itself.
fn bound_integer(schema: &mut schemars::Schema) {
    let Some(format) = schema.get("format").and_then(Json::as_str) else {
        return;
    };
    let (min, max): (Json, Json) = match format {
        "int8" => (i8::MIN.into(), i8::MAX.into()),
        "int16" => (i16::MIN.into(), i16::MAX.into()),
        "int32" => (i32::MIN.into(), i32::MAX.into()),
        "int64" | "int" => (i64::MIN.into(), i64::MAX.into()),
        "uint8" => (0.into(), u8::MAX.into()),
        "uint16" => (0.into(), u16::MAX.into()),
        "uint32" => (0.into(), u32::MAX.into()),
        // Values hold integers as `i64`: a larger one would arrive a float.
        "uint64" | "uint" => (0.into(), i64::MAX.into()),
        _ => return,
    };
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    object.entry("minimum").or_insert(min);
    object.entry("maximum").or_insert(max);
}

/// Makes a [`Codec`] of a [`Kind`]. The kind's schema is generated once.
pub struct KindCodec<K> {
    kind: K,
    schema: Json,
}

impl<K: Kind> KindCodec<K> {
    /// Wraps `kind`.
    pub fn new(kind: K) -> KindCodec<K> {
        let schema = schema_settings()
            .into_generator()
            .into_root_schema_for::<K::Spec>()
            .to_value();
        KindCodec { kind, schema }
    }
}

impl<K: Kind> Codec for KindCodec<K> {
    fn kind(&self) -> &'static str {
        self.kind.name()
    }

    fn summary(&self) -> &'static str {
        self.kind.summary()
    }

    fn schema(&self) -> Json {
        self.schema.clone()
    }

    fn subschema(&self, generator: &mut schemars::SchemaGenerator) -> Json {
        generator.subschema_for::<K::Spec>().to_value()
    }

    fn ports(&self, fields: Json) -> Option<Ports> {
        let typed: K::Spec = decode(fields).ok()?;
        Some(self.kind.ports(&typed))
    }

    fn runtime_templates(&self) -> &'static [&'static str] {
        self.kind.runtime_templates()
    }

    fn compile(
        &self,
        cx: &Context<'_>,
        fields: Json,
    ) -> Result<(Arc<dyn Activate>, Ports), Vec<FieldError>> {
        let shape = shape_errors(&self.schema, &fields);
        if !shape.is_empty() {
            return Err(shape);
        }
        let typed: K::Spec = decode(fields).map_err(|e| vec![e])?;
        let ports = self.kind.ports(&typed);
        let activate = self.kind.compile(typed, cx)?;
        Ok((activate, ports))
    }
}

/// Decodes `fields` as `T`. A number with no fraction written as a float
/// (`8080.0`, as JSON allows for an integer) is taken as the integer where
/// `T` wants one: each such refusal turns that one value into an integer
/// and decodes again. Elsewhere (a JSON constant, a CEL double) the float
/// stays a float.
pub fn decode<T: serde::de::DeserializeOwned>(mut fields: Json) -> Result<T, FieldError> {
    // One retry per integral float at most; a spec has few.
    for _ in 0..64 {
        let error = match serde_path_to_error::deserialize(&fields) {
            Ok(typed) => return Ok(typed),
            Err(error) => error,
        };
        let whole = at_path(&mut fields, error.path())
            .and_then(|value| value.as_f64())
            .and_then(integral);
        if let Some(whole) = whole
            && let Some(value) = at_path(&mut fields, error.path())
        {
            *value = whole;
            continue;
        }
        let path = error.path().to_string();
        let path = if path == "." { String::new() } else { path };
        return Err(FieldError::new(path, error.into_inner().to_string()));
    }
    Err(FieldError::new("", "too many numbers written as floats"))
}

/// `x` as a JSON integer, when it is a float with no fraction in range.
fn integral(x: f64) -> Option<Json> {
    let fits = x.fract() == 0.0 && x.abs() < 9.0e15;
    // In range, `as` is exact: the guard above keeps it so.
    fits.then(|| Json::from(x as i64))
}

/// The value at a serde path inside `json`, if it is a float.
fn at_path<'a>(json: &'a mut Json, path: &serde_path_to_error::Path) -> Option<&'a mut Json> {
    use serde_path_to_error::Segment;
    let mut here = json;
    for segment in path.iter() {
        here = match segment {
            Segment::Seq { index } => here.get_mut(*index)?,
            Segment::Map { key } => here.get_mut(key.as_str())?,
            Segment::Enum { .. } | Segment::Unknown => return None,
        };
    }
    here.is_f64().then_some(here)
}

/// Every unknown and every missing top-level field at once; serde alone
/// would stop at the first. Type errors inside fields are left to serde.
fn shape_errors(schema: &Json, fields: &Json) -> Vec<FieldError> {
    let (Some(properties), Some(fields)) = (
        schema.get("properties").and_then(Json::as_object),
        fields.as_object(),
    ) else {
        return Vec::new();
    };
    let known = || {
        properties
            .keys()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut errors: Vec<FieldError> = fields
        .keys()
        .filter(|k| !properties.contains_key(*k))
        .map(|k| {
            FieldError::new(
                k.as_str(),
                format!("unknown field (this kind has: {})", known()),
            )
        })
        .collect();
    let required = schema
        .get("required")
        .and_then(Json::as_array)
        .into_iter()
        .flatten();
    errors.extend(
        required
            .filter_map(Json::as_str)
            .filter(|r| !fields.contains_key(*r))
            .map(|r| FieldError::new(r, "missing field")),
    );
    errors
}
