//! Errors as HTTP answers: a status and `{"error": {"status", "code", "message"}}`.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use procc_runtime::Error;
use serde::Serialize;
use utoipa::ToSchema;

/// A refused or failed request.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable machine-readable code (`unknown_instance`, `forbidden`, ...).
    pub code: &'static str,
    /// What went wrong and, where known, what to do.
    pub message: String,
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// The HTTP status.
    pub status: u16,
    /// A stable machine-readable code.
    pub code: String,
    /// A sentence for people.
    pub message: String,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
    /// 400: the request is malformed.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    /// 401: no valid token.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
    /// 403: the user lacks a right or may not see the thing.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    /// 404: no such thing.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    /// 422: well-formed but invalid.
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", message)
    }
    /// 500: our fault.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> ApiError {
        let (status, code) = match &error {
            Error::UnknownInstance(_) => (StatusCode::NOT_FOUND, "unknown_instance"),
            Error::UnknownStep { .. } => (StatusCode::NOT_FOUND, "unknown_step"),
            Error::UnknownTemplate(_) => (StatusCode::NOT_FOUND, "unknown_template"),
            Error::UnknownTask(_) => (StatusCode::NOT_FOUND, "unknown_task"),
            Error::UnknownUser(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unknown_user"),
            Error::TemplateInactive(_) => (StatusCode::CONFLICT, "template_inactive"),
            Error::NoPlan => (StatusCode::SERVICE_UNAVAILABLE, "no_plan"),
            Error::PlanFormat { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "plan_format"),
            Error::PlanTampered => (StatusCode::UNPROCESSABLE_ENTITY, "plan_tampered"),
            Error::StepNotActive { .. } => (StatusCode::CONFLICT, "step_not_active"),
            Error::NotSkippable { .. } => (StatusCode::CONFLICT, "not_skippable"),
            Error::NotRunning { .. } => (StatusCode::CONFLICT, "not_running"),
            Error::TaskStepFollowing { .. } => (StatusCode::CONFLICT, "task_step_following"),
            Error::WaitsForTask { .. } => (StatusCode::CONFLICT, "waits_for_task"),
            Error::InvalidInput(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
            Error::MissingLink { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "missing_link"),
            Error::BadToken => (StatusCode::BAD_REQUEST, "bad_decision_link"),
            Error::TokenExpired => (StatusCode::GONE, "decision_link_expired"),
            Error::Conflict => (StatusCode::CONFLICT, "conflict"),
            Error::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            Error::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "database_unavailable"),
        };
        ApiError::new(status, code, error.to_string())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        let status = rejection.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "body_too_large"
        } else {
            "bad_json"
        };
        ApiError::new(status, code, rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_path", rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_query", rejection.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                status: self.status.as_u16(),
                code: self.code.to_string(),
                message: self.message,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"procc\""),
            );
        }
        response
    }
}
