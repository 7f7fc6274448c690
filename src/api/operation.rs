//! The platform's operations as data: each group's file lists its operations (`OPERATIONS`)
//! beside its routes (`api::all_operations` gathers them), naming the input struct its handlers bind and the view they answer.
//! `control::openapi` builds the OpenAPI document from these lists, so the document says what
//! the handlers read and write, by construction.

use schemars::{JsonSchema, Schema, SchemaGenerator};

/// A schema of a type, added to the document's components when the type has a name.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// The schema of `T` (a `$ref` for named types).
pub fn schema<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

/// The schema of an input type itself, from a generator of its own with `settings` (its `$ref`
/// resolved), and the definitions left beside it (the named types its fields use). The
/// OpenAPI document lists a query struct's properties as parameters from it, and the contract
/// check a JSON body's members.
pub fn own_schema(
    f: SchemaFn,
    settings: schemars::generate::SchemaSettings,
) -> (serde_json::Value, serde_json::Map<String, serde_json::Value>) {
    let mut g = settings.into_generator();
    let top = f(&mut g).to_value();
    let mut defs = g.take_definitions(true);
    let name = top.get("$ref").and_then(serde_json::Value::as_str).and_then(|r| r.rsplit('/').next());
    let schema = match name.and_then(|n| defs.remove(n)) {
        Some(own) => own,
        None => top,
    };
    (schema, defs)
}

/// An HTTP method an operation is served on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// DELETE.
    Delete,
}

impl Method {
    /// The lower-case name OpenAPI uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Post => "post",
            Method::Put => "put",
            Method::Delete => "delete",
        }
    }
}

/// A path parameter: always a string on this platform (ids, QR codes, URLs).
#[derive(Debug, Clone, Copy)]
pub struct PathParam {
    /// Its name in the path template.
    pub name: &'static str,
    /// What it is.
    pub description: &'static str,
    /// A value that works on the default world.
    pub example: &'static str,
}

/// The body an operation takes.
#[derive(Clone, Copy)]
pub enum Body {
    /// JSON: the input type the handler binds (a struct, or a bare array of ids).
    Typed(SchemaFn),
}

/// What a success looks like (business errors always answer the one error shape).
#[derive(Clone, Copy)]
pub enum Answer {
    /// `{"msg","code":0}`.
    Empty,
    /// `{"msg","code":0,"data":T}`.
    Data(SchemaFn),
    /// `{"msg","code":"0","data":T}` (S1, C4).
    StringCode(SchemaFn),
    /// `{"msg","code":0,"list":T}` (O6).
    List(SchemaFn),
    /// `{"msg","code":0,"page":T}` (R1).
    Page(SchemaFn),
    /// `{"code":0,"msg","data":T}` (E2).
    CodeFirst(SchemaFn),
    /// `T` as it is, not in the envelope (A1's token answer).
    Bare(SchemaFn),
}

/// One documented operation.
#[derive(Clone, Copy)]
pub struct Operation {
    /// The documentation's id (`O1`, `C7`, ...); operation ids start with it.
    pub id: &'static str,
    /// Snake-case name, the rest of the operation id.
    pub name: &'static str,
    /// The documented method first, then the ones clients also use.
    pub methods: &'static [Method],
    /// Path below `/cdb-open-api/v1`.
    pub path: &'static str,
    /// The documentation's group.
    pub tag: &'static str,
    /// One line.
    pub summary: &'static str,
    /// What a client needs to know beyond the summary ("" for nothing).
    pub description: &'static str,
    /// Whether credentials are needed (all but A1).
    pub auth: bool,
    /// Path parameters.
    pub path_params: &'static [PathParam],
    /// Query (or form) parameters: the input struct the handler binds.
    pub query: Option<SchemaFn>,
    /// Parameters the documentation lists but the platform does not read ([`StrayFields`]).
    pub stray: Option<SchemaFn>,
    /// The JSON body.
    pub body: Option<Body>,
    /// The success.
    pub answer: Answer,
}

impl Operation {
    /// An operation with no parameters, needing credentials, answering `{"msg","code"}`; the
    /// lists fill in the rest with struct update syntax.
    pub const BASE: Operation = Operation {
        id: "",
        name: "",
        methods: &[Method::Get],
        path: "",
        tag: "",
        summary: "",
        description: "",
        auth: true,
        path_params: &[],
        query: None,
        stray: None,
        body: None,
        answer: Answer::Empty,
    };
}

/// The fields of the account that the vendor's documentation lists as query parameters of
/// some Advance API operations (its backend binds the logged-in user object from the query).
/// Accepted and ignored: the account comes from the credentials.
#[derive(serde::Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StrayFields {
    /// Stray framework parameter the vendor lists on this operation; accepted and ignored.
    pub id: Option<i64>,
    /// Stray framework parameter the vendor lists on this operation; accepted and ignored.
    pub daili_id: Option<String>,
    /// Stray framework parameter the vendor lists on this operation; accepted and ignored.
    pub username: Option<String>,
    /// Stray framework parameter the vendor lists on this operation; accepted and ignored.
    pub password: Option<String>,
    /// Stray framework parameter the vendor lists on this operation; accepted and ignored.
    pub status: Option<i64>,
}
