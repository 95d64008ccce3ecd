//! The built-in PostgreSQL types the `sql` node reads and binds, by OID
//! (the OIDs of `pg_type.dat`, stable across versions), and how a type is
//! named in messages.

use tokio_postgres::types::{Kind, Type};

pub const BOOL: u32 = 16;
pub const BYTEA: u32 = 17;
pub const CHAR: u32 = 18;
pub const NAME: u32 = 19;
pub const INT8: u32 = 20;
pub const INT2: u32 = 21;
pub const INT4: u32 = 23;
pub const TEXT: u32 = 25;
pub const OID: u32 = 26;
pub const JSON: u32 = 114;
pub const XML: u32 = 142;
pub const FLOAT4: u32 = 700;
pub const FLOAT8: u32 = 701;
pub const UNKNOWN: u32 = 705;
pub const BPCHAR: u32 = 1042;
pub const VARCHAR: u32 = 1043;
pub const DATE: u32 = 1082;
pub const TIME: u32 = 1083;
pub const TIMESTAMP: u32 = 1114;
pub const TIMESTAMPTZ: u32 = 1184;
pub const INTERVAL: u32 = 1186;
pub const TIMETZ: u32 = 1266;
pub const NUMERIC: u32 = 1700;
pub const VOID: u32 = 2278;
pub const UUID: u32 = 2950;
pub const JSONB: u32 = 3802;

/// What a type is, for reading and binding: a built-in scalar by OID, text
/// in disguise (an enum, `citext`), an array of something, or unknown.
pub enum Shape<'a> {
    /// A type with this built-in OID (a domain counts as its base type).
    Builtin(u32),
    /// Sent as UTF-8 text: enums and the `citext` extension.
    Text,
    /// A one-dimensional array of the element type.
    Array(&'a Type),
    /// Anything else: the node neither reads nor binds it.
    Other,
}

/// The shape of `ty`, looking through domains.
pub fn shape(ty: &Type) -> Shape<'_> {
    match ty.kind() {
        Kind::Domain(base) => shape(base),
        Kind::Enum(_) => Shape::Text,
        Kind::Array(element) => Shape::Array(element),
        _ if ty.name().eq_ignore_ascii_case("citext") => Shape::Text,
        Kind::Simple | Kind::Pseudo => Shape::Builtin(ty.oid()),
        _ => Shape::Other,
    }
}

/// The type's name as PostgreSQL spells it, lower-case.
pub fn name(ty: &Type) -> String {
    ty.name().to_ascii_lowercase()
}
