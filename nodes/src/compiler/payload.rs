//! Reading a `compiler` payload into a [`Request`]: the library's
//! [`weir_native::Input`] and whether to run the script afterwards, naming
//! every bad field rather than the first.

use serde_json::{Map, Value as Json};
use weir_native::{FieldError, Input, Script, Settings};

fn error(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

/// What one packet asks of the compiler.
pub(super) struct Request {
    pub input: Input,
    /// `settings.execute`: run the script in the sandbox after the passes.
    /// The node's, not the library's, so it is taken out of the settings.
    pub execute: bool,
}

/// `{script: {name, source}, settings?}`, settings merged over `defaults`.
pub(super) fn request(
    payload: &Json,
    defaults: &Map<String, Json>,
) -> Result<Request, Vec<FieldError>> {
    let mut errors = Vec::new();
    let Some(object) = payload.as_object() else {
        return Err(vec![error(
            "(root)",
            "must be an object {script, settings?}",
        )]);
    };
    for key in object.keys().filter(|k| *k != "script" && *k != "settings") {
        errors.push(error(key, "unknown field"));
    }
    let script = script(object.get("script"), &mut errors);
    let mut merged = defaults.clone();
    match object.get("settings") {
        None | Some(Json::Null) => {}
        Some(Json::Object(given)) => merged.extend(given.clone()),
        Some(_) => errors.push(error("settings", "must be an object")),
    }
    let execute = take_execute(&mut merged, "settings")
        .map_err(|e| errors.push(e))
        .unwrap_or(false);
    let settings = settings(&merged, "settings")
        .map_err(|e| errors.extend(e))
        .ok();
    match (script, settings) {
        (Some(script), Some(settings)) if errors.is_empty() => {
            let input = Input { script, settings };
            input.validate()?;
            Ok(Request { input, execute })
        }
        _ => Err(errors),
    }
}

fn script(value: Option<&Json>, errors: &mut Vec<FieldError>) -> Option<Script> {
    let Some(value) = value else {
        errors.push(error("script", "is required"));
        return None;
    };
    let Some(object) = value.as_object() else {
        errors.push(error("script", "must be an object {name, source}"));
        return None;
    };
    let before = errors.len();
    for key in object.keys().filter(|k| *k != "name" && *k != "source") {
        errors.push(error(&format!("script.{key}"), "unknown field"));
    }
    let name = match object.get("name") {
        Some(Json::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.push(error("script.name", "must be a string"));
            None
        }
        None => {
            errors.push(error("script.name", "is required"));
            None
        }
    };
    let source = match object.get("source") {
        Some(Json::String(s)) => Some(s.clone().into_bytes()),
        Some(v @ Json::Array(_)) => serde_json::from_value::<Vec<u8>>(v.clone())
            .map_err(|_| {
                errors.push(error(
                    "script.source",
                    "must be a string or a list of bytes (0..=255)",
                ))
            })
            .ok(),
        Some(_) => {
            errors.push(error(
                "script.source",
                "must be a string or a list of bytes",
            ));
            None
        }
        None => {
            errors.push(error("script.source", "is required"));
            None
        }
    };
    match (name, source) {
        (Some(name), Some(source)) if errors.len() == before => Some(Script { name, source }),
        _ => None,
    }
}

/// Takes `execute` out of `fields`: `true` or `false` (absent is false).
pub(super) fn take_execute(fields: &mut Map<String, Json>, at: &str) -> Result<bool, FieldError> {
    match fields.remove("execute") {
        None | Some(Json::Null) => Ok(false),
        Some(Json::Bool(execute)) => Ok(execute),
        Some(_) => Err(error(&format!("{at}.execute"), "must be true or false")),
    }
}

/// The settings `fields` give over the defaults, each field checked on its
/// own so every bad one is named (`settings.passes`), then the ceilings.
pub(super) fn settings(fields: &Map<String, Json>, at: &str) -> Result<Settings, Vec<FieldError>> {
    let mut errors = Vec::new();
    for (key, value) in fields {
        let one = Json::Object(Map::from_iter([(key.clone(), value.clone())]));
        if let Err(e) = weir_engine::scheme::decode::<Settings>(one) {
            errors.push(error(&format!("{at}.{key}"), e.message));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let settings: Settings = weir_engine::scheme::decode(Json::Object(fields.clone()))
        .map_err(|e| vec![error(at, e.message)])?;
    let probe = Input {
        script: Script {
            name: "-".into(),
            source: Vec::new(),
        },
        settings,
    };
    probe.validate().map_err(|e| {
        e.into_iter()
            .map(|f| FieldError {
                field: f.field.replacen("settings", at, 1),
                message: f.message,
            })
            .collect::<Vec<_>>()
    })?;
    Ok(probe.settings)
}
