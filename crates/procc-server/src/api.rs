//! The JSON API under `/api/v1`. Every handler is described for the OpenAPI document
//! ([`crate::openapi`]); request bodies refuse unknown fields, and every refusal is an
//! [`ApiError`] with a status, a stable code and a message.

use std::collections::BTreeSet;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use procc_plan::{FieldType, Module, Plan, Right};
use procc_runtime::{
    InstanceId, InstanceQuery, InstanceStatus, InstanceView, Links, RecordEvent, RecordRow,
    StartRequest, StepInput, TriggerEmail, ViewOf, check_key, typed,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{self, Principal};
use crate::error::ErrorBody;
use crate::view::*;
use crate::{ApiError, AppState, PLAN_BODY_LIMIT, ServerEngine};

/// A JSON body whose errors are [`ApiError`]s (400 malformed, 413 too large, 422 wrong shape).
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// Path parameters whose errors are [`ApiError`]s.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// Query parameters whose errors are [`ApiError`]s.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// The routes of the API, health and metrics.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/me", get(me))
        .route(
            "/api/v1/tokens",
            post(create_token).delete(revoke_current_token),
        )
        .route(
            "/api/v1/plans",
            get(list_plans)
                .post(deploy_plan)
                .layer(DefaultBodyLimit::max(PLAN_BODY_LIMIT)),
        )
        .route("/api/v1/templates", get(list_templates))
        .route("/api/v1/instances", get(list_instances).post(start_process))
        .route("/api/v1/instances/{id}", get(get_instance))
        .route("/api/v1/instances/{id}/cancel", post(cancel_process))
        .route(
            "/api/v1/instances/{id}/steps/{step}/complete",
            post(complete_step),
        )
        .route("/api/v1/instances/{id}/steps/{step}/skip", post(skip_step))
        .route(
            "/api/v1/instances/{id}/steps/{step}/reassign",
            post(reassign_step),
        )
        .route("/api/v1/tasks/{task}/complete", post(complete_task))
        .route("/api/v1/inbox", get(inbox))
        .route("/api/v1/controller-view", get(controller_view))
        .route("/api/v1/deliveries", get(list_deliveries))
        .route("/api/v1/endpoints/disabled", get(list_disabled_endpoints))
        .route("/api/v1/endpoints/enable", post(enable_endpoint))
        .route("/api/v1/records/{module}", post(create_record))
        .route(
            "/api/v1/records/{module}/{id}",
            get(get_record).patch(update_record),
        )
        .route("/api/v1/events/email", post(email_received))
        .route("/api/v1/events/activity", post(activity_received))
}

/// The server is up.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// The hash of the current plan, if one is deployed.
    pub plan: Option<String>,
}

/// Whether the server and its database answer.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = ErrorBody)))]
pub async fn health(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    let plan = state.run(|engine| Ok(engine.current_plan_hash()?)).await?;
    Ok(Json(Health {
        status: "ok".into(),
        plan,
    }))
}

/// Prometheus metrics (text format).
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.encode(),
    )
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(crate::openapi::document())
}

/// The signed-in user and their rights.
#[utoipa::path(get, path = "/api/v1/me", tag = "users", security(("token" = [])),
    responses((status = 200, body = UserView), (status = 401, body = ErrorBody)))]
pub async fn me(principal: Principal) -> Json<UserView> {
    Json((&principal.user).into())
}

/// A new API token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NewToken {
    /// The token; it is shown this once (only its hash is stored).
    pub token: String,
    /// Its user.
    pub user: String,
}

/// Makes another API token for the signed-in user.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "users", security(("token" = [])),
    responses((status = 201, body = NewToken), (status = 401, body = ErrorBody)))]
pub async fn create_token(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<(StatusCode, Json<NewToken>), ApiError> {
    let user = principal.id().to_string();
    let token = state
        .run({
            let user = user.clone();
            move |engine| auth::create_token(engine, &user)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(NewToken { token, user })))
}

/// Revokes the token the request is made with.
#[utoipa::path(delete, path = "/api/v1/tokens", tag = "users", security(("token" = [])),
    responses((status = 204, description = "Revoked"), (status = 401, body = ErrorBody)))]
pub async fn revoke_current_token(
    State(state): State<AppState>,
    _principal: Principal,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .map(|(_, t)| t.trim().to_string())
        .ok_or_else(|| ApiError::bad_request("send the token to revoke as the bearer token"))?;
    state
        .run(move |engine| auth::revoke_token(engine, &token))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The deployed plan versions, oldest first; the last is current.
#[utoipa::path(get, path = "/api/v1/plans", tag = "plans", security(("token" = [])),
    responses((status = 200, body = Vec<PlanVersion>), (status = 401, body = ErrorBody)))]
pub async fn list_plans(
    State(state): State<AppState>,
    _principal: Principal,
) -> Result<Json<Vec<PlanVersion>>, ApiError> {
    let plans = state.run(|engine| Ok(engine.plans()?)).await?;
    let last = plans.len().saturating_sub(1);
    Ok(Json(
        plans
            .iter()
            .enumerate()
            .map(|(i, p)| PlanVersion::new(p, i == last))
            .collect(),
    ))
}

/// Deploys a compiled plan (the JSON of `procc compile`) and makes it current. Running
/// processes stay on their version. Needs the right `design`.
#[utoipa::path(post, path = "/api/v1/plans", tag = "plans", security(("token" = [])),
    request_body(content = Object, description = "A plan as written by `procc compile`", content_type = "application/json"),
    responses((status = 201, body = PlanVersion), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn deploy_plan(
    State(state): State<AppState>,
    principal: Principal,
    body: Bytes,
) -> Result<(StatusCode, Json<PlanVersion>), ApiError> {
    principal.require(Right::Design)?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_request("the plan is not UTF-8 text"))?;
    let plan = procc_plan::load(procc_diagnostics::FileId(0), text).map_err(|d| {
        let mut message = format!("{}: {}", d.code.id, d.message);
        if let Some(help) = &d.help {
            message.push_str(&format!(" (help: {help})"));
        }
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_plan", message)
    })?;
    let version = state
        .run(move |engine| {
            let hash = engine.deploy(&plan)?;
            let plans = engine.plans()?;
            let row = plans
                .iter()
                .find(|p| p.hash == hash)
                .ok_or_else(|| ApiError::internal("the deployed plan is not stored"))?;
            Ok(PlanVersion::new(row, true))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(version)))
}

/// The templates of the current plan.
#[utoipa::path(get, path = "/api/v1/templates", tag = "plans", security(("token" = [])),
    responses((status = 200, body = Vec<TemplateView>), (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn list_templates(
    State(state): State<AppState>,
    _principal: Principal,
) -> Result<Json<Vec<TemplateView>>, ApiError> {
    let plan = state.run(|engine| Ok(engine.current_plan()?)).await?;
    Ok(Json(TemplateView::all(&plan)))
}

/// A manual start.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartProcess {
    /// The template's name.
    pub template: String,
    /// The process owner (a user id); the caller when left out.
    pub owner: Option<String>,
    /// The linked address.
    pub address: Option<String>,
    /// The linked property.
    pub property: Option<String>,
    /// The linked project.
    pub project: Option<String>,
    /// A start with a key already used returns the process it started (the
    /// `Idempotency-Key` header works too).
    pub idempotency_key: Option<String>,
}

/// Starts a process. Needs the right `start`.
#[utoipa::path(post, path = "/api/v1/instances", tag = "processes", security(("token" = [])),
    request_body = StartProcess,
    params(("Idempotency-Key" = Option<String>, Header, description = "Starts at most once per key")),
    responses((status = 201, body = InstanceSummary), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn start_process(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    ApiJson(body): ApiJson<StartProcess>,
) -> Result<(StatusCode, Json<InstanceSummary>), ApiError> {
    principal.require(Right::Start)?;
    let header_key = headers
        .get("idempotency-key")
        .map(|v| {
            v.to_str()
                .map(str::to_string)
                .map_err(|_| ApiError::bad_request("the Idempotency-Key header is not text"))
        })
        .transpose()?;
    let request = StartRequest {
        template: body.template,
        owner: body.owner.unwrap_or_else(|| principal.id().to_string()),
        links: Links {
            address: body.address.map(Into::into),
            property: body.property.map(Into::into),
            project: body.project.map(Into::into),
        },
        started_by: principal.id().to_string(),
        idempotency_key: body.idempotency_key.or(header_key),
        email: None,
    };
    // The engine checks these too, but the linked records are read below before it starts,
    // and a refusal there would name them only as "the record id".
    request.check_keys()?;
    let summary = state
        .run(move |engine| {
            let plan = engine.current_plan()?;
            if !plan.catalog.users.iter().any(|u| u.id == request.owner) {
                return Err(ApiError::invalid(format!(
                    "the owner `{}` is not a user of the catalog",
                    request.owner
                )));
            }
            for (module, id) in [
                (Module::Address, &request.links.address),
                (Module::Property, &request.links.property),
                (Module::Project, &request.links.project),
            ] {
                if let Some(id) = id
                    && engine.record(module, id)?.is_none()
                {
                    return Err(ApiError::invalid(format!(
                        "there is no {} `{id}`",
                        enum_text(&module)
                    )));
                }
            }
            let id = engine.start(&request)?;
            Ok(InstanceSummary::from(&engine.instance(id)?.instance))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(summary)))
}

/// Which instances to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InstanceFilter {
    /// `running` (due or waiting), `running_due`, `running_waiting`, `completed` or `cancelled`.
    pub status: Option<String>,
    /// Only this template.
    pub template: Option<String>,
    /// Only this owner.
    pub owner: Option<String>,
    /// Only those linked to this address.
    pub address: Option<String>,
    /// Only those linked to this property.
    pub property: Option<String>,
    /// Only those linked to this project.
    pub project: Option<String>,
    /// Only those with an active step past its deadline.
    pub overdue: Option<bool>,
    /// Only ids greater than this (the next page: `next_after` of the previous one).
    pub after: Option<u64>,
    /// At most this many (1 to 1000, default 100).
    pub limit: Option<usize>,
}

/// A page of instances.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InstanceList {
    /// The instances, by id.
    pub instances: Vec<InstanceSummary>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<u64>,
}

/// Lists process instances. Without the right `see-others` a user sees the processes they
/// own, control or started, and those with a step waiting for them.
#[utoipa::path(get, path = "/api/v1/instances", tag = "processes", security(("token" = [])),
    params(InstanceFilter),
    responses((status = 200, body = InstanceList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_instances(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<InstanceFilter>,
) -> Result<Json<InstanceList>, ApiError> {
    let limit = filter.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("`limit` must be between 1 and 1000"));
    }
    let mut query = InstanceQuery {
        template: filter.template,
        owner: filter.owner,
        after: filter.after,
        ..InstanceQuery::default()
    };
    match filter.status.as_deref() {
        None => {}
        Some("running") => query.running = true,
        Some(s) => {
            query.status = Some(parse_status(s).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "unknown status `{s}`: use running, running_due, running_waiting, completed or cancelled"
                ))
            })?)
        }
    }
    query.record = [
        (Module::Address, filter.address),
        (Module::Property, filter.property),
        (Module::Project, filter.project),
    ]
    .into_iter()
    .find_map(|(m, id)| id.map(|id| (m, id)));
    let overdue = filter.overdue.unwrap_or(false);
    let list = state
        .run(move |engine| {
            let mine: BTreeSet<InstanceId> = engine
                .inbox(principal.id())?
                .iter()
                .map(|e| e.item.instance)
                .collect();
            let mut found = Vec::new();
            let mut more = false;
            // Pages of the store are filtered by visibility and deadline here, until a page
            // of the asked size is full.
            loop {
                query.limit = limit + 1;
                let batch = engine.instances(&query)?;
                let exhausted = batch.len() <= limit;
                for row in batch {
                    query.after = Some(row.id);
                    let visible = principal.has(Right::SeeOthers)
                        || principal.takes_part(&row)
                        || mine.contains(&row.id);
                    let keep = visible
                        && (!overdue || engine.instance(row.id)?.steps.iter().any(is_overdue));
                    if keep {
                        if found.len() == limit {
                            more = true;
                            break;
                        }
                        found.push(InstanceSummary::from(&row));
                    }
                }
                if more || exhausted {
                    break;
                }
            }
            let next_after = more.then(|| found.last().map(|i| i.id)).flatten();
            Ok(InstanceList {
                instances: found,
                next_after,
            })
        })
        .await?;
    Ok(Json(list))
}

fn parse_status(s: &str) -> Option<InstanceStatus> {
    match s {
        "running_due" => Some(InstanceStatus::RunningDue),
        "running_waiting" => Some(InstanceStatus::RunningWaiting),
        "completed" => Some(InstanceStatus::Completed),
        "cancelled" => Some(InstanceStatus::Cancelled),
        _ => None,
    }
}

/// An instance the user may see, with the plan it runs on.
pub(crate) fn visible_instance(
    engine: &ServerEngine,
    principal: &Principal,
    id: InstanceId,
) -> Result<(InstanceView, std::sync::Arc<Plan>), ApiError> {
    let view = engine.instance(id)?;
    let sees = principal.has(Right::SeeOthers)
        || principal.takes_part(&view.instance)
        || view.work_items.iter().any(|w| w.user == principal.id());
    if !sees {
        return Err(ApiError::forbidden(format!(
            "process {id} is not yours to see: it needs the right `see-others`"
        )));
    }
    let plan = engine.plan(&view.instance.plan_hash)?;
    Ok((view, plan))
}

/// An instance's detail: steps, history, and its effects with their attempts.
pub(crate) fn detail(
    engine: &ServerEngine,
    principal: &Principal,
    id: InstanceId,
) -> Result<InstanceDetail, ApiError> {
    let (view, plan) = visible_instance(engine, principal, id)?;
    let mut deliveries = Vec::new();
    for effect in engine.deliveries(id)? {
        let attempts = engine.attempts(effect.id)?;
        deliveries.push((effect, attempts));
    }
    Ok(InstanceDetail::new(&view, Some(&plan), &deliveries))
}

/// An instance with its steps, work items, artefacts, history and deliveries.
#[utoipa::path(get, path = "/api/v1/instances/{id}", tag = "processes", security(("token" = [])),
    params(("id" = u64, Path, description = "The instance id")),
    responses((status = 200, body = InstanceDetail), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_instance(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<u64>,
) -> Result<Json<InstanceDetail>, ApiError> {
    let detail = state
        .run(move |engine| detail(engine, &principal, id))
        .await?;
    Ok(Json(detail))
}

/// Cancels a running process. Needs the right `cancel`.
#[utoipa::path(post, path = "/api/v1/instances/{id}/cancel", tag = "processes", security(("token" = [])),
    params(("id" = u64, Path, description = "The instance id")),
    responses((status = 200, body = InstanceSummary), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn cancel_process(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<u64>,
) -> Result<Json<InstanceSummary>, ApiError> {
    principal.require(Right::Cancel)?;
    let summary = state
        .run(move |engine| {
            visible_instance(engine, &principal, id)?;
            engine.cancel(id, principal.id())?;
            Ok(InstanceSummary::from(&engine.instance(id)?.instance))
        })
        .await?;
    Ok(Json(summary))
}

/// What a person enters when completing a step.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteStep {
    /// The answer of a decision.
    pub answer: Option<bool>,
    /// The value of a manual write-values step, or the record id of an assign step.
    pub value: Option<serde_json::Value>,
}

/// Completes an active step waiting for the caller (a task step completes its task). A
/// decision needs `answer`, a manual write step `value`.
#[utoipa::path(post, path = "/api/v1/instances/{id}/steps/{step}/complete", tag = "steps", security(("token" = [])),
    params(("id" = u64, Path, description = "The instance id"), ("step" = u32, Path, description = "The step index")),
    request_body = CompleteStep,
    responses((status = 200, body = InstanceDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn complete_step(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, step)): ApiPath<(u64, u32)>,
    ApiJson(body): ApiJson<CompleteStep>,
) -> Result<Json<InstanceDetail>, ApiError> {
    let input = StepInput {
        answer: body.answer,
        value: body.value,
    };
    let detail = state
        .run(move |engine| {
            complete(engine, &principal, id, step, &input)?;
            detail(engine, &principal, id)
        })
        .await?;
    Ok(Json(detail))
}

/// Completes a step for a user: only the person it waits for may.
pub(crate) fn complete(
    engine: &ServerEngine,
    principal: &Principal,
    id: InstanceId,
    step: u32,
    input: &StepInput,
) -> Result<(), ApiError> {
    let (view, _) = visible_instance(engine, principal, id)?;
    let row =
        view.steps.iter().find(|s| s.index == step).ok_or_else(|| {
            ApiError::not_found(format!("process {id} has not reached step {step}"))
        })?;
    match &row.responsible {
        Some(user) if user != principal.id() => {
            return Err(ApiError::forbidden(format!(
                "step `{}` waits for `{user}`, not for `{}`",
                row.name,
                principal.id()
            )));
        }
        _ => {}
    }
    match row.task {
        Some(task) if row.state == procc_runtime::StepState::Active => {
            engine.complete_task(task, principal.id())?
        }
        _ => engine.complete_step(id, step, principal.id(), input)?,
    }
    Ok(())
}

/// Skips a step (only the kinds that allow it); the controller is e-mailed. Needs the right
/// `skip`.
#[utoipa::path(post, path = "/api/v1/instances/{id}/steps/{step}/skip", tag = "steps", security(("token" = [])),
    params(("id" = u64, Path, description = "The instance id"), ("step" = u32, Path, description = "The step index")),
    responses((status = 200, body = InstanceDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn skip_step(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, step)): ApiPath<(u64, u32)>,
) -> Result<Json<InstanceDetail>, ApiError> {
    principal.require(Right::Skip)?;
    let detail = state
        .run(move |engine| {
            visible_instance(engine, &principal, id)?;
            engine.skip(id, step, principal.id())?;
            detail(engine, &principal, id)
        })
        .await?;
    Ok(Json(detail))
}

/// A change of responsibility.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reassign {
    /// The new responsible user.
    pub user: String,
    /// For this step and all following ones (needs the right `adjust-following`; not for
    /// task steps).
    #[serde(default)]
    pub this_and_following: bool,
}

/// Gives a step to another user. The step's responsible person, the process owner, the
/// controller and users with `see-others` may; "this and following" needs
/// `adjust-following`.
#[utoipa::path(post, path = "/api/v1/instances/{id}/steps/{step}/reassign", tag = "steps", security(("token" = [])),
    params(("id" = u64, Path, description = "The instance id"), ("step" = u32, Path, description = "The step index")),
    request_body = Reassign,
    responses((status = 200, body = InstanceDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn reassign_step(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, step)): ApiPath<(u64, u32)>,
    ApiJson(body): ApiJson<Reassign>,
) -> Result<Json<InstanceDetail>, ApiError> {
    if body.this_and_following {
        principal.require(Right::AdjustFollowing)?;
    }
    let detail = state
        .run(move |engine| {
            let (view, _) = visible_instance(engine, &principal, id)?;
            let responsible = view
                .steps
                .iter()
                .find(|s| s.index == step)
                .and_then(|s| s.responsible.as_deref());
            let may = principal.has(Right::SeeOthers)
                || principal.takes_part(&view.instance)
                || responsible == Some(principal.id());
            if !may {
                return Err(ApiError::forbidden(
                    "only the step's responsible person, the process owner, the controller or a \
                     user with `see-others` may change its responsibility",
                ));
            }
            engine.reassign(
                id,
                step,
                &body.user,
                body.this_and_following,
                principal.id(),
            )?;
            detail(engine, &principal, id)
        })
        .await?;
    Ok(Json(detail))
}

/// Completes a task created by a task step; the step completes with it.
#[utoipa::path(post, path = "/api/v1/tasks/{task}/complete", tag = "steps", security(("token" = [])),
    params(("task" = u64, Path, description = "The task id")),
    responses((status = 204, description = "Done"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn complete_task(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(task): ApiPath<u64>,
) -> Result<StatusCode, ApiError> {
    state
        .run(move |engine| {
            let waiting = engine
                .inbox(principal.id())?
                .iter()
                .any(|e| task_of(engine, e.item.instance, e.item.step) == Some(task));
            if !waiting && !principal.has(Right::SeeOthers) {
                return Err(ApiError::forbidden(format!(
                    "task {task} is not waiting for `{}`",
                    principal.id()
                )));
            }
            engine.complete_task(task, principal.id())?;
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn task_of(engine: &ServerEngine, instance: InstanceId, step: u32) -> Option<u64> {
    engine
        .instance(instance)
        .ok()?
        .steps
        .iter()
        .find(|s| s.index == step)?
        .task
}

/// The caller's due steps.
#[utoipa::path(get, path = "/api/v1/inbox", tag = "steps", security(("token" = [])),
    responses((status = 200, body = Vec<InboxItem>), (status = 401, body = ErrorBody)))]
pub async fn inbox(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Vec<InboxItem>>, ApiError> {
    let items = state
        .run(move |engine| Ok(engine.inbox(principal.id())?))
        .await?;
    Ok(Json(items.iter().map(Into::into).collect()))
}

/// Whose due steps to show.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ViewFilter {
    /// One user's.
    pub user: Option<String>,
    /// A group's members'.
    pub group: Option<String>,
}

/// The controller's view: the due steps of a user, of a group, or of everybody. Needs the
/// right `see-others` (except for one's own).
#[utoipa::path(get, path = "/api/v1/controller-view", tag = "steps", security(("token" = [])),
    params(ViewFilter),
    responses((status = 200, body = Vec<InboxItem>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn controller_view(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<ViewFilter>,
) -> Result<Json<Vec<InboxItem>>, ApiError> {
    let of = match (filter.user, filter.group) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request("give `user` or `group`, not both"));
        }
        (Some(u), None) => ViewOf::User(u),
        (None, Some(g)) => ViewOf::Group(g),
        (None, None) => ViewOf::All,
    };
    let own = matches!(&of, ViewOf::User(u) if u == principal.id());
    if !own {
        principal.require(Right::SeeOthers)?;
    }
    let items = state
        .run(move |engine| Ok(engine.controller_view(&of)?))
        .await?;
    Ok(Json(items.iter().map(Into::into).collect()))
}

/// Which deliveries to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryFilter {
    /// Only effects given up or whose last attempt failed.
    pub failed: Option<bool>,
    /// Only effects of this instance.
    pub instance: Option<u64>,
}

/// Outbound effects (e-mails, SMS, webhooks, letters, portal syncs) and their delivery.
/// Needs the right `see-others`.
#[utoipa::path(get, path = "/api/v1/deliveries", tag = "operations", security(("token" = [])),
    params(DeliveryFilter),
    responses((status = 200, body = Vec<DeliveryView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<DeliveryFilter>,
) -> Result<Json<Vec<DeliveryView>>, ApiError> {
    principal.require(Right::SeeOthers)?;
    let outbox = state
        .run(move |engine| {
            Ok(match filter.instance {
                Some(i) => engine.deliveries(i)?,
                None => engine.outbox()?,
            })
        })
        .await?;
    let failed = filter.failed.unwrap_or(false);
    Ok(Json(
        outbox
            .iter()
            .filter(|o| !failed || is_failed(o))
            .map(Into::into)
            .collect(),
    ))
}

/// An endpoint that answered 410 Gone and receives nothing until an operator enables it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DisabledEndpoint {
    /// A webhook URL without its query, or `email`, `sms`, `letter`, `portal`.
    pub endpoint: String,
    /// The answer it was disabled for.
    pub reason: String,
}

/// The endpoints disabled after a 410 Gone. Needs the right `see-others`.
#[utoipa::path(get, path = "/api/v1/endpoints/disabled", tag = "operations", security(("token" = [])),
    responses((status = 200, body = Vec<DisabledEndpoint>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn list_disabled_endpoints(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Vec<DisabledEndpoint>>, ApiError> {
    principal.require(Right::SeeOthers)?;
    let disabled = state.run(|engine| Ok(engine.disabled_endpoints()?)).await?;
    Ok(Json(
        disabled
            .into_iter()
            .map(|(endpoint, reason)| DisabledEndpoint { endpoint, reason })
            .collect(),
    ))
}

/// Which endpoint to enable.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnableEndpoint {
    /// The endpoint as `GET /api/v1/endpoints/disabled` lists it.
    pub endpoint: String,
}

/// Enables an endpoint disabled after a 410 Gone: effects to it are delivered again (those
/// given up while it was disabled stay given up). Audited. Needs the right `design`.
#[utoipa::path(post, path = "/api/v1/endpoints/enable", tag = "operations", security(("token" = [])),
    request_body = EnableEndpoint,
    responses((status = 204, description = "Enabled"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn enable_endpoint(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<EnableEndpoint>,
) -> Result<StatusCode, ApiError> {
    principal.require(Right::Design)?;
    let by = principal.user.id.clone();
    let endpoint = body.endpoint.clone();
    let enabled = state
        .run(move |engine| Ok(engine.enable_endpoint(&endpoint, &by)?))
        .await?;
    if enabled {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!(
            "the endpoint `{}` is not disabled",
            body.endpoint
        )))
    }
}

/// A new record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRecord {
    /// The id (the CRM's).
    pub id: String,
    /// Field values, typed by the catalog's module fields.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// The saved filters the record is in.
    #[serde(default)]
    pub filters: Vec<String>,
}

/// Creates a record (no trigger fires: it is an import).
#[utoipa::path(post, path = "/api/v1/records/{module}", tag = "records", security(("token" = [])),
    params(("module" = String, Path, description = "`address`, `property` or `project`")),
    request_body = NewRecord,
    responses((status = 201, body = RecordView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_record(
    State(state): State<AppState>,
    _principal: Principal,
    ApiPath(module_name): ApiPath<String>,
    ApiJson(body): ApiJson<NewRecord>,
) -> Result<(StatusCode, Json<RecordView>), ApiError> {
    let module = parse_module(&module_name)?;
    if body.id.trim().is_empty() {
        return Err(ApiError::invalid("a record needs a non-empty `id`"));
    }
    let view = state
        .run(move |engine| {
            let plan = engine.current_plan()?;
            validate_fields(&plan, module, &body.fields)?;
            if engine.record(module, &body.id)?.is_some() {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "record_exists",
                    format!("{module_name} `{}` exists: update it with PATCH", body.id),
                ));
            }
            let record = RecordRow {
                module,
                id: body.id,
                fields: body.fields,
                filters: body.filters,
            };
            engine.put_record(&record)?;
            Ok(RecordView::from(&record))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

fn parse_module(name: &str) -> Result<Module, ApiError> {
    module(name).ok_or_else(|| {
        ApiError::not_found(format!(
            "there is no module `{name}`: use address, property or project"
        ))
    })
}

/// Checks field values against the catalog: known fields, values of their type, statuses
/// of the module, users as supervisors.
pub(crate) fn validate_fields(
    plan: &Plan,
    module: Module,
    fields: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), ApiError> {
    let schema = plan.catalog.modules.iter().find(|m| m.module == module);
    for (name, value) in fields {
        if value.is_null() {
            continue;
        }
        let text = || {
            value
                .as_str()
                .ok_or_else(|| ApiError::invalid(format!("field `{name}` takes text, not {value}")))
        };
        match name.as_str() {
            "status" => {
                let status = text()?;
                if let Some(schema) = schema
                    && !schema.statuses.iter().any(|s| s == status)
                {
                    return Err(ApiError::invalid(format!(
                        "`{status}` is not a status of {}: use one of {}",
                        enum_text(&module),
                        schema.statuses.join(", ")
                    )));
                }
            }
            "supervisor" => {
                let user = text()?;
                if !plan.catalog.users.iter().any(|u| u.id == user) {
                    return Err(ApiError::invalid(format!(
                        "the supervisor `{user}` is not a user of the catalog"
                    )));
                }
            }
            "email" | "mobile" => {
                text()?;
            }
            _ => {
                let field = schema
                    .and_then(|s| s.fields.iter().find(|f| f.name == *name))
                    .ok_or_else(|| {
                        let known: Vec<&str> = schema
                            .map(|s| s.fields.iter().map(|f| f.name.as_str()).collect())
                            .unwrap_or_default();
                        ApiError::invalid(format!(
                            "{} has no field `{name}`; its fields: status, supervisor, email, mobile, {}",
                            enum_text(&module),
                            known.join(", ")
                        ))
                    })?;
                if typed(field.ty, value).is_none() {
                    return Err(ApiError::invalid(format!(
                        "field `{name}` is {}, not {value}",
                        field_type_words(field.ty)
                    )));
                }
                if field.ty == FieldType::Enum
                    && !field.values.is_empty()
                    && !value
                        .as_str()
                        .is_some_and(|v| field.values.iter().any(|x| x == v))
                {
                    return Err(ApiError::invalid(format!(
                        "`{value}` is not a value of `{name}`: use one of {}",
                        field.values.join(", ")
                    )));
                }
            }
        }
    }
    Ok(())
}

fn field_type_words(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Text => "text",
        FieldType::Number => "a number",
        FieldType::Money => "an amount of money (a number)",
        FieldType::Area => "an area in m² (a number)",
        FieldType::Date => "a date (YYYY-MM-DD)",
        FieldType::Bool => "true or false",
        FieldType::Enum => "one of its values",
    }
}

/// A record.
#[utoipa::path(get, path = "/api/v1/records/{module}/{id}", tag = "records", security(("token" = [])),
    params(("module" = String, Path, description = "`address`, `property` or `project`"),
        ("id" = String, Path, description = "The record id")),
    responses((status = 200, body = RecordView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn get_record(
    State(state): State<AppState>,
    _principal: Principal,
    ApiPath((module_name, id)): ApiPath<(String, String)>,
) -> Result<Json<RecordView>, ApiError> {
    let module = parse_module(&module_name)?;
    let record = state
        .run(move |engine| {
            engine
                .record(module, &id)?
                .ok_or_else(|| ApiError::not_found(format!("there is no {module_name} `{id}`")))
        })
        .await?;
    Ok(Json((&record).into()))
}

/// A change of a record, as the CRM saves it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordUpdate {
    /// The fields to set (`null` removes a value); others stay.
    #[schema(value_type = Object)]
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// The saved filters the record is in now (left out: unchanged).
    pub filters: Option<Vec<String>>,
    /// The CRM's id of this save: a save repeated with the same id starts nothing twice (the
    /// `Idempotency-Key` header works too).
    pub occurrence: Option<String>,
}

/// What a record update did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RecordUpdated {
    /// The record as saved.
    pub record: RecordView,
    /// The fields whose value changed.
    pub changed: Vec<String>,
    /// The processes its triggers started.
    pub started: Vec<u64>,
}

/// Updates a record. The changed fields raise the "saved with changed fields" trigger event,
/// a changed status also the "status set" event; the processes they start are returned.
#[utoipa::path(patch, path = "/api/v1/records/{module}/{id}", tag = "records", security(("token" = [])),
    params(("module" = String, Path, description = "`address`, `property` or `project`"),
        ("id" = String, Path, description = "The record id"),
        ("Idempotency-Key" = Option<String>, Header, description = "The CRM's id of this save")),
    request_body = RecordUpdate,
    responses((status = 200, body = RecordUpdated), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_record(
    State(state): State<AppState>,
    _principal: Principal,
    ApiPath((module_name, id)): ApiPath<(String, String)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RecordUpdate>,
) -> Result<Json<RecordUpdated>, ApiError> {
    let module = parse_module(&module_name)?;
    let occurrence = occurrence(body.occurrence, &headers)?;
    let updated = state
        .run(move |engine| {
            let plan = engine.current_plan()?;
            validate_fields(&plan, module, &body.fields)?;
            let mut record = engine
                .record(module, &id)?
                .ok_or_else(|| ApiError::not_found(format!("there is no {module_name} `{id}`")))?;
            let mut changed = Vec::new();
            for (name, value) in body.fields {
                let old = record.fields.get(&name);
                if value.is_null() {
                    if old.is_some() {
                        record.fields.remove(&name);
                        changed.push(name);
                    }
                } else if old != Some(&value) {
                    record.fields.insert(name.clone(), value);
                    changed.push(name);
                }
            }
            if let Some(filters) = body.filters {
                record.filters = filters;
            }
            let status = changed
                .iter()
                .any(|c| c == "status")
                .then(|| record.text("status").map(str::to_string))
                .flatten();
            let mut started = engine.record_event(
                &RecordEvent::Saved {
                    record: record.clone(),
                    changed: changed.clone(),
                },
                &format!("{occurrence}/saved"),
            )?;
            if let Some(value) = status {
                started.extend(engine.record_event(
                    &RecordEvent::StatusSet {
                        module,
                        id: id.clone(),
                        value,
                    },
                    &format!("{occurrence}/status"),
                )?);
            }
            Ok(RecordUpdated {
                record: (&record).into(),
                changed,
                started,
            })
        })
        .await?;
    Ok(Json(updated))
}

/// The occurrence id of an event: given in the body or the `Idempotency-Key` header, else a
/// new random one (then a repeated request is a new event). Checked here although the engine
/// checks occurrences: it gets this one with a tag added, which its limit makes room for.
fn occurrence(given: Option<String>, headers: &HeaderMap) -> Result<String, ApiError> {
    if let Some(o) = given {
        check_key("the occurrence", &o)?;
        return Ok(o);
    }
    if let Some(v) = headers.get("idempotency-key") {
        let key = v
            .to_str()
            .map(str::to_string)
            .map_err(|_| ApiError::bad_request("the Idempotency-Key header is not text"))?;
        check_key("the idempotency key", &key)?;
        return Ok(key);
    }
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| ApiError::internal(format!("no randomness for an event id: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The processes an event started.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Started {
    /// Their ids.
    pub started: Vec<u64>,
}

/// An e-mail received for an address.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailEvent {
    /// The address it came from.
    pub address: String,
    /// A property it is about.
    pub property: Option<String>,
    /// The CRM's id of the e-mail (a repeated event with the same id starts nothing twice).
    pub id: String,
    /// The sender.
    pub from: String,
    /// The subject.
    pub subject: String,
    /// Its feature (Merkmal).
    pub feature: Option<String>,
}

/// Tells that an e-mail was received; templates triggered by it start.
#[utoipa::path(post, path = "/api/v1/events/email", tag = "records", security(("token" = [])),
    request_body = EmailEvent,
    responses((status = 200, body = Started), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn email_received(
    State(state): State<AppState>,
    _principal: Principal,
    ApiJson(body): ApiJson<EmailEvent>,
) -> Result<Json<Started>, ApiError> {
    let occurrence = format!("email/{}", body.id);
    let event = RecordEvent::EmailReceived {
        address: body.address,
        property: body.property,
        email: TriggerEmail {
            id: body.id,
            from: body.from,
            subject: body.subject,
        },
        feature: body.feature,
    };
    let started = state
        .run(move |engine| Ok(engine.record_event(&event, &occurrence)?))
        .await?;
    Ok(Json(Started { started }))
}

/// An activity logged on an address.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityEvent {
    /// The address.
    pub address: String,
    /// A property it is about.
    pub property: Option<String>,
    /// The CRM's id of the activity (a repeated event with the same id starts nothing twice).
    pub id: String,
    /// Its kind (Aktionsart).
    pub kind: String,
    /// Its type.
    #[serde(rename = "type")]
    pub activity_type: Option<String>,
    /// Its feature (Merkmal).
    pub feature: Option<String>,
}

/// Tells that an activity was logged; templates triggered by it start.
#[utoipa::path(post, path = "/api/v1/events/activity", tag = "records", security(("token" = [])),
    request_body = ActivityEvent,
    responses((status = 200, body = Started), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn activity_received(
    State(state): State<AppState>,
    _principal: Principal,
    ApiJson(body): ApiJson<ActivityEvent>,
) -> Result<Json<Started>, ApiError> {
    // The activity's id reaches the engine only inside the occurrence (whose limit leaves
    // room for the tag), so the id itself is held to the limit of ids here.
    check_key("the event id", &body.id)?;
    let occurrence = format!("activity/{}", body.id);
    let event = RecordEvent::ActivityReceived {
        address: body.address,
        property: body.property,
        kind: body.kind,
        activity_type: body.activity_type,
        feature: body.feature,
    };
    let started = state
        .run(move |engine| Ok(engine.record_event(&event, &occurrence)?))
        .await?;
    Ok(Json(Started { started }))
}

/// Imports records from JSON text (a list of `{"module", "id", "fields", "filters"}`), each
/// checked against the catalog like `POST /api/v1/records/{module}`; existing records are
/// replaced. No trigger fires. Returns how many were imported.
pub fn import_records(engine: &ServerEngine, text: &str) -> Result<usize, ApiError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Imported {
        module: String,
        id: String,
        #[serde(default)]
        fields: serde_json::Map<String, serde_json::Value>,
        #[serde(default)]
        filters: Vec<String>,
    }
    let records: Vec<Imported> = serde_json::from_str(text)
        .map_err(|e| ApiError::invalid(format!("the records are not a valid list: {e}")))?;
    let plan = engine.current_plan()?;
    for r in &records {
        let module = parse_module(&r.module)?;
        // The engine checks each id too, but only as it writes it: checked here, a bad id
        // refuses the whole list before any record is written.
        check_key("the record id", &r.id)?;
        validate_fields(&plan, module, &r.fields)
            .map_err(|e| ApiError::invalid(format!("{} `{}`: {}", r.module, r.id, e.message)))?;
    }
    for r in &records {
        engine.put_record(&RecordRow {
            module: parse_module(&r.module)?,
            id: r.id.clone(),
            fields: r.fields.clone(),
            filters: r.filters.clone(),
        })?;
    }
    Ok(records.len())
}
