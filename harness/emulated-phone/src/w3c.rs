//! W3C WebDriver errors as the specification defines them (§6.6 "Errors"): each has an HTTP status
//! and an `error` code, and travels as `{"value": {"error", "message", "stacktrace"}}`, which is what
//! Selenium, Appium clients and fantoccini parse.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One W3C error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct W3cError {
    /// The HTTP status the specification gives this error.
    pub status: StatusCode,
    /// The specification's error code (`no such element`).
    pub code: &'static str,
    /// What was expected and what was found.
    pub message: String,
}

impl W3cError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        W3cError { status, code, message: message.into() }
    }

    /// 404 `no such element`.
    pub fn no_such_element(message: impl Into<String>) -> Self {
        W3cError::new(StatusCode::NOT_FOUND, "no such element", message)
    }

    /// 404 `stale element reference`.
    pub fn stale(message: impl Into<String>) -> Self {
        W3cError::new(StatusCode::NOT_FOUND, "stale element reference", message)
    }

    /// 404 `invalid session id`.
    pub fn invalid_session(id: &str) -> Self {
        W3cError::new(StatusCode::NOT_FOUND, "invalid session id", format!("no active session {id:?} on this phone"))
    }

    /// 400 `invalid argument`.
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        W3cError::new(StatusCode::BAD_REQUEST, "invalid argument", message)
    }

    /// 400 `invalid selector`.
    pub fn invalid_selector(message: impl Into<String>) -> Self {
        W3cError::new(StatusCode::BAD_REQUEST, "invalid selector", message)
    }

    /// 400 `element not interactable`.
    pub fn not_interactable(message: impl Into<String>) -> Self {
        W3cError::new(StatusCode::BAD_REQUEST, "element not interactable", message)
    }

    /// 404 `unknown command`.
    pub fn unknown_command(message: impl Into<String>) -> Self {
        W3cError::new(StatusCode::NOT_FOUND, "unknown command", message)
    }

    /// 405 `unknown method`.
    pub fn unknown_method(message: impl Into<String>) -> Self {
        W3cError::new(StatusCode::METHOD_NOT_ALLOWED, "unknown method", message)
    }

    /// 500 `session not created`.
    pub fn session_not_created(message: impl Into<String>) -> Self {
        W3cError::new(StatusCode::INTERNAL_SERVER_ERROR, "session not created", message)
    }

    /// 500 `unknown error`.
    pub fn unknown(message: impl Into<String>) -> Self {
        W3cError::new(StatusCode::INTERNAL_SERVER_ERROR, "unknown error", message)
    }
}

impl IntoResponse for W3cError {
    fn into_response(self) -> Response {
        let body = json!({"value": {"error": self.code, "message": self.message, "stacktrace": ""}});
        (self.status, Json(body)).into_response()
    }
}

/// A successful answer: `{"value": ...}`.
pub fn ok(value: Value) -> Response {
    (StatusCode::OK, Json(json!({ "value": value }))).into_response()
}

/// The W3C web element identifier key (and the JSONWP `ELEMENT` key older Appium clients read).
pub const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// An element reference as a JSON object.
pub fn element_ref(id: &str) -> Value {
    json!({ ELEMENT_KEY: id, "ELEMENT": id })
}
