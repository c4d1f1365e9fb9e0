//! The dashboard: server-rendered HTML pages, no script and no build step.
//!
//! Sign-in puts the API token into an `HttpOnly`, `SameSite=Strict` cookie; forms post to
//! `/ui/...` and are refused when their `Origin` is another site's. Every action goes through
//! the same checks as the API (rights, visibility, the person a step waits for).

use std::io::Write as _;
use std::process::{Command, Stdio};

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{DOCTYPE, Markup, html};
use procc_graph::StepMark;
use procc_plan::Right;
use procc_runtime::{
    DecisionToken, InstanceQuery, InstanceStatus, Links, StartRequest, StepInput, StepState,
};
use serde::Deserialize;

use crate::api::{complete, detail, visible_instance};
use crate::auth::{self, COOKIE, Principal};
use crate::view::{StepView, enum_text, is_failed, is_overdue};
use crate::{ApiError, AppState};

/// The dashboard's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/processes", get(processes))
        .route("/processes/{id}", get(process))
        .route("/processes/{id}/graph.svg", get(graph))
        .route("/overdue", get(overdue))
        .route("/deliveries", get(deliveries))
        .route("/ui/start", post(ui_start))
        .route("/ui/complete", post(ui_complete))
        .route("/ui/skip", post(ui_skip))
        .route("/ui/cancel", post(ui_cancel))
        .route("/decide", get(decide_page).post(decide))
}

/// A signed-in dashboard user; without a valid cookie the page redirects to `/login`.
struct UiUser(Principal);

impl FromRequestParts<AppState> for UiUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<UiUser, Response> {
        let Some(token) = auth::request_token(parts) else {
            return Err(Redirect::to("/login").into_response());
        };
        match state
            .run(move |engine| auth::authenticate(engine, &token))
            .await
        {
            Ok(p) => Ok(UiUser(p)),
            Err(e) if e.status == StatusCode::UNAUTHORIZED => {
                Err(Redirect::to("/login?expired=1").into_response())
            }
            Err(e) => Err(error_page(e)),
        }
    }
}

fn page(title: &str, user: Option<&Principal>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · procc" }
                style { (STYLE) }
            }
            body {
                nav {
                    strong { "procc" }
                    @if let Some(user) = user {
                        a href="/" { "My due steps" }
                        a href="/processes" { "Processes" }
                        a href="/overdue" { "Overdue" }
                        @if user.has(Right::SeeOthers) { a href="/deliveries" { "Failed deliveries" } }
                        span.who { (user.user.name) " (" (user.id()) ")" }
                        form method="post" action="/logout" class="inline" { button { "Sign out" } }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#222}\
nav{display:flex;gap:1em;align-items:center;padding:.6em 1.2em;background:#1f3a5f;color:#fff}\
nav a{color:#fff}nav .who{margin-left:auto}main{padding:1em 1.5em}\
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border-bottom:1px solid #ddd;padding:.3em .7em;text-align:left;vertical-align:top}\
.inline{display:inline}button{cursor:pointer}.error{background:#fde2e1;padding:.7em;border-left:4px solid #c62828}\
.state-active{font-weight:bold}.overdue{color:#c62828;font-weight:bold}.graph{max-width:100%;overflow:auto;border:1px solid #ddd}";

fn error_page(error: ApiError) -> Response {
    let body = html! {
        p.error { (error.message) }
        p { a href="/" { "Back to my due steps" } }
    };
    (error.status, page("Something went wrong", None, body)).into_response()
}

/// Refuses a form posted from another site (the cookie is `SameSite=Strict` as well).
fn same_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin.split_once("://").map_or(origin, |(_, h)| h);
    if origin_host == host {
        Ok(())
    } else {
        Err(ApiError::forbidden("the form was posted from another site"))
    }
}

#[derive(Deserialize)]
struct LoginQuery {
    expired: Option<String>,
}

async fn login_page(query: Result<Query<LoginQuery>, QueryRejection>) -> Markup {
    let expired = query.is_ok_and(|q| q.expired.is_some());
    page(
        "Sign in",
        None,
        html! {
            @if expired { p.error { "Your token is unknown or was revoked. Sign in again." } }
            form method="post" action="/login" {
                p { label { "API token " input type="password" name="token" size="72" autofocus required; } }
                p { button type="submit" { "Sign in" } }
            }
            p { "Make a token with " code { "procc token create USER" } "." }
        },
    )
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

async fn login(State(state): State<AppState>, Form(form): Form<LoginForm>) -> Response {
    let token = form.token.trim().to_string();
    let checked = token.clone();
    match state
        .run(move |engine| auth::authenticate(engine, &checked))
        .await
    {
        Ok(_) => (
            [(
                header::SET_COOKIE,
                format!("{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/"),
            )],
            Redirect::to("/"),
        )
            .into_response(),
        Err(e) if e.status == StatusCode::UNAUTHORIZED => {
            Redirect::to("/login?expired=1").into_response()
        }
        Err(e) => error_page(e),
    }
}

async fn logout() -> Response {
    (
        [(
            header::SET_COOKIE,
            format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
        )],
        Redirect::to("/login"),
    )
        .into_response()
}

async fn home(State(state): State<AppState>, UiUser(user): UiUser) -> Response {
    let me = user.clone();
    let loaded = state
        .run(move |engine| {
            let inbox = engine.inbox(me.id())?;
            let mut rows = Vec::new();
            for entry in inbox {
                let (view, plan) = visible_instance(engine, &me, entry.item.instance)?;
                let step = view
                    .steps
                    .iter()
                    .find(|s| s.index == entry.item.step)
                    .map(|s| StepView::new(s, Some(&plan), &view.instance.template));
                rows.push((entry, step));
            }
            let templates = engine
                .current_plan()?
                .templates
                .iter()
                .filter(|t| t.active)
                .map(|t| (t.name.clone(), t.title.clone().unwrap_or_default()))
                .collect::<Vec<_>>();
            Ok((rows, templates))
        })
        .await;
    let (rows, templates) = match loaded {
        Ok(x) => x,
        Err(e) => return error_page(e),
    };
    let body = html! {
        @if rows.is_empty() { p { "Nothing is waiting for you." } } @else {
            table {
                tr { th { "Process" } th { "Step" } th { "Kind" } th { "Linked" } th { "Since" } th { "Action" } }
                @for (entry, step) in &rows {
                    tr {
                        td { a href={ "/processes/" (entry.item.instance) } { (entry.item.instance) " · " (entry.template) } }
                        td { (entry.step_name) " (" (entry.position.0) "/" (entry.position.1) ")"
                            @if let Some(w) = &entry.item.warning { br; small.overdue { (w) } }
                            @if step.as_ref().is_some_and(|s| s.overdue) { br; small.overdue { "past its deadline" } } }
                        td { (step.as_ref().map_or("", |s| s.kind.as_str())) }
                        td { (links_text(&entry.links)) }
                        td { (entry.item.created_at.format("%Y-%m-%d %H:%M")) }
                        td { (step_actions(&user, entry.item.instance, step.as_ref())) }
                    }
                }
            }
        }
        @if user.has(Right::Start) {
            h2 { "Start a process" }
            form method="post" action="/ui/start" {
                label { "Template " select name="template" {
                    @for (name, title) in &templates { option value=(name) { (name) @if !title.is_empty() { " – " (title) } } }
                } }
                " " label { "Property " input name="property" size="8"; }
                " " label { "Address " input name="address" size="8"; }
                " " button type="submit" { "Start" }
            }
        }
    };
    page("My due steps", Some(&user), body).into_response()
}

fn links_text(links: &Links) -> String {
    let mut parts = Vec::new();
    if let Some(p) = &links.property {
        parts.push(format!("property {p}"));
    }
    if let Some(a) = &links.address {
        parts.push(format!("address {a}"));
    }
    if let Some(p) = &links.project {
        parts.push(format!("project {p}"));
    }
    parts.join(", ")
}

fn step_actions(user: &Principal, instance: u64, step: Option<&StepView>) -> Markup {
    let Some(step) = step else { return html! {} };
    html! {
        @if step.kind == "decision" {
            form method="post" action="/ui/complete" class="inline" {
                input type="hidden" name="instance" value=(instance);
                input type="hidden" name="step" value=(step.index);
                button name="answer" value="yes" { "Yes" } " "
                button name="answer" value="no" { "No" }
            }
        } @else if step.kind == "write_values" || step.kind.starts_with("assign_") {
            form method="post" action="/ui/complete" class="inline" {
                input type="hidden" name="instance" value=(instance);
                input type="hidden" name="step" value=(step.index);
                input name="value" placeholder="value" size="10" required;
                " " button { "Complete" }
            }
        } @else {
            form method="post" action="/ui/complete" class="inline" {
                input type="hidden" name="instance" value=(instance);
                input type="hidden" name="step" value=(step.index);
                button { "Complete" }
            }
        }
        @if step.skippable && user.has(Right::Skip) {
            " "
            form method="post" action="/ui/skip" class="inline" {
                input type="hidden" name="instance" value=(instance);
                input type="hidden" name="step" value=(step.index);
                button { "Skip" }
            }
        }
    }
}

#[derive(Deserialize)]
struct StartForm {
    template: String,
    property: Option<String>,
    address: Option<String>,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

async fn ui_start(
    State(state): State<AppState>,
    UiUser(user): UiUser,
    headers: HeaderMap,
    Form(form): Form<StartForm>,
) -> Response {
    let started = async {
        same_origin(&headers)?;
        user.require(Right::Start)?;
        let request = StartRequest {
            template: form.template,
            owner: user.id().to_string(),
            links: Links {
                address: non_empty(form.address).map(Into::into),
                property: non_empty(form.property).map(Into::into),
                project: None,
            },
            started_by: user.id().to_string(),
            idempotency_key: None,
            email: None,
        };
        state.run(move |engine| Ok(engine.start(&request)?)).await
    }
    .await;
    match started {
        Ok(id) => Redirect::to(&format!("/processes/{id}")).into_response(),
        Err(e) => error_page(e),
    }
}

#[derive(Deserialize)]
struct StepForm {
    instance: u64,
    step: u32,
    answer: Option<String>,
    value: Option<String>,
}

async fn ui_complete(
    State(state): State<AppState>,
    UiUser(user): UiUser,
    headers: HeaderMap,
    Form(form): Form<StepForm>,
) -> Response {
    let done = async {
        same_origin(&headers)?;
        let input = StepInput {
            answer: match form.answer.as_deref() {
                None => None,
                Some("yes") => Some(true),
                Some("no") => Some(false),
                Some(other) => {
                    return Err(ApiError::bad_request(format!(
                        "the answer is yes or no, not `{other}`"
                    )));
                }
            },
            value: non_empty(form.value)
                .map(|v| serde_json::from_str(&v).unwrap_or(serde_json::Value::String(v))),
        };
        state
            .run(move |engine| complete(engine, &user, form.instance, form.step, &input))
            .await
    }
    .await;
    match done {
        Ok(()) => Redirect::to(&format!("/processes/{}", form.instance)).into_response(),
        Err(e) => error_page(e),
    }
}

async fn ui_skip(
    State(state): State<AppState>,
    UiUser(user): UiUser,
    headers: HeaderMap,
    Form(form): Form<StepForm>,
) -> Response {
    let done = async {
        same_origin(&headers)?;
        user.require(Right::Skip)?;
        state
            .run(move |engine| {
                visible_instance(engine, &user, form.instance)?;
                Ok(engine.skip(form.instance, form.step, user.id())?)
            })
            .await
    }
    .await;
    match done {
        Ok(()) => Redirect::to(&format!("/processes/{}", form.instance)).into_response(),
        Err(e) => error_page(e),
    }
}

#[derive(Deserialize)]
struct CancelForm {
    instance: u64,
}

async fn ui_cancel(
    State(state): State<AppState>,
    UiUser(user): UiUser,
    headers: HeaderMap,
    Form(form): Form<CancelForm>,
) -> Response {
    let done = async {
        same_origin(&headers)?;
        user.require(Right::Cancel)?;
        state
            .run(move |engine| {
                visible_instance(engine, &user, form.instance)?;
                Ok(engine.cancel(form.instance, user.id())?)
            })
            .await
    }
    .await;
    match done {
        Ok(()) => Redirect::to(&format!("/processes/{}", form.instance)).into_response(),
        Err(e) => error_page(e),
    }
}

#[derive(Deserialize)]
struct ProcessesQuery {
    status: Option<String>,
}

async fn processes(
    State(state): State<AppState>,
    UiUser(user): UiUser,
    query: Result<Query<ProcessesQuery>, QueryRejection>,
) -> Response {
    let status = query
        .ok()
        .and_then(|q| q.0.status)
        .unwrap_or_else(|| "running".into());
    let me = user.clone();
    let filter = status.clone();
    let loaded = state
        .run(move |engine| {
            let mut query = InstanceQuery {
                limit: 500,
                ..InstanceQuery::default()
            };
            match filter.as_str() {
                "completed" => query.status = Some(InstanceStatus::Completed),
                "cancelled" => query.status = Some(InstanceStatus::Cancelled),
                _ => query.running = true,
            }
            let mine: Vec<u64> = engine
                .inbox(me.id())?
                .iter()
                .map(|e| e.item.instance)
                .collect();
            Ok(engine
                .instances(&query)?
                .into_iter()
                .filter(|i| me.has(Right::SeeOthers) || me.takes_part(i) || mine.contains(&i.id))
                .collect::<Vec<_>>())
        })
        .await;
    let rows = match loaded {
        Ok(rows) => rows,
        Err(e) => return error_page(e),
    };
    let body = html! {
        p {
            @for (key, label) in [("running", "Running"), ("completed", "Completed"), ("cancelled", "Cancelled")] {
                @if key == status { strong { (label) } } @else { a href={ "/processes?status=" (key) } { (label) } }
                " "
            }
        }
        @if rows.is_empty() { p { "No processes." } } @else {
            table {
                tr { th { "Id" } th { "Status" } th { "Template" } th { "Owner" } th { "Linked" } th { "Started" }
                    @if status == "cancelled" { th { "Cancelled by" } } }
                @for i in &rows {
                    tr {
                        td { a href={ "/processes/" (i.id) } { (i.id) } }
                        td { (i.status.name()) }
                        td { (i.template) }
                        td { (i.owner) }
                        td { (links_text(&i.links)) }
                        td { (i.started_at.format("%Y-%m-%d %H:%M")) }
                        @if status == "cancelled" {
                            td { (i.cancelled_by.as_deref().unwrap_or("")) " "
                                (i.cancelled_at.map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default()) }
                        }
                    }
                }
            }
        }
    };
    page("Processes", Some(&user), body).into_response()
}

async fn process(
    State(state): State<AppState>,
    UiUser(user): UiUser,
    Path(id): Path<u64>,
) -> Response {
    let me = user.clone();
    let loaded = state.run(move |engine| detail(engine, &me, id)).await;
    let detail = match loaded {
        Ok(d) => d,
        Err(e) => return error_page(e),
    };
    let i = &detail.instance;
    let running = i.status.starts_with("running");
    let body = html! {
        p {
            "Status: " strong #status { (i.status.replace('_', " ")) } " · owner " (i.owner)
            " · started " (i.started_at.format("%Y-%m-%d %H:%M")) " by " (i.started_by)
            @if let Some(c) = &i.controller { " · controller " (c) }
        }
        @if running && user.has(Right::Cancel) {
            form method="post" action="/ui/cancel" {
                input type="hidden" name="instance" value=(i.id);
                button { "Cancel this process" }
            }
        }
        h2 { "Steps" }
        table #steps {
            tr { th { "#" } th { "Step" } th { "Kind" } th { "State" } th { "Responsible" } th { "Action" } }
            @for s in &detail.steps {
                tr class={ "state-" (s.state) } {
                    td { (s.index + 1) }
                    td { (s.name) @if let Some(d) = &s.degraded { br; small.overdue { "manual: " (d) } } }
                    td { (s.kind) }
                    td { (s.state)
                        @if let Some(at) = s.scheduled_at { " until " (at.format("%Y-%m-%d %H:%M")) }
                        @if s.overdue { " " span.overdue { "overdue" } }
                        @if let Some(a) = s.answer { " (" (if a { "yes" } else { "no" }) ")" } }
                    td { (s.responsible.as_deref().unwrap_or("")) }
                    td { @if s.state == "active" && s.responsible.as_deref() == Some(user.id()) {
                        (step_actions(&user, i.id, Some(s)))
                    } }
                }
            }
        }
        h2 { "Flow" }
        div.graph { img src={ "/processes/" (i.id) "/graph.svg" } alt="The process flow with the steps coloured by state"; }
        h2 { "History" }
        table #history {
            tr { th { "When" } th { "Who" } th { "What" } th { "Details" } }
            @for h in &detail.history {
                tr { td { (h.at.format("%Y-%m-%d %H:%M:%S")) } td { (h.who) } td { (h.event) } td { (h.detail) } }
            }
        }
        @if !detail.deliveries.is_empty() {
            h2 { "Deliveries" }
            table {
                tr { th { "Kind" } th { "To" } th { "Delivered" } th { "Attempts" } th { "Last error" } }
                @for d in &detail.deliveries {
                    tr { td { (d.kind) } td { (d.to) }
                        td { (d.delivered_at.map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_else(|| "pending".into())) }
                        td { (d.attempts) } td { (d.last_error.as_deref().unwrap_or("")) } }
                }
            }
        }
    };
    page(
        &format!("Process {} · {}", i.id, i.template),
        Some(&user),
        body,
    )
    .into_response()
}

/// The instance's template drawn by Graphviz with its steps coloured by state.
async fn graph(
    State(state): State<AppState>,
    UiUser(user): UiUser,
    Path(id): Path<u64>,
) -> Response {
    let drawn = state
        .run(move |engine| {
            let (view, plan) = visible_instance(engine, &user, id)?;
            let marks: Vec<_> = view
                .steps
                .iter()
                .map(|s| {
                    let mark = match s.state {
                        StepState::Scheduled { .. } => StepMark::Scheduled,
                        StepState::Active if is_overdue(s) => StepMark::Overdue,
                        StepState::Active => StepMark::Active,
                        StepState::Done => StepMark::Done,
                        StepState::Skipped | StepState::Cancelled => StepMark::Passed,
                    };
                    (s.index, mark)
                })
                .collect();
            let dot = procc_graph::draw_instance(&plan, &view.instance.template, &marks);
            render_svg(&dot)
        })
        .await;
    match drawn {
        Ok(svg) => ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Runs Graphviz's `dot` on the text.
fn render_svg(dot: &str) -> Result<Vec<u8>, ApiError> {
    let unavailable = |e: std::io::Error| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "graphviz_missing",
            format!("drawing the flow needs Graphviz's `dot` on the PATH: {e}"),
        )
    };
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(unavailable)?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(dot.as_bytes()).map_err(unavailable)?;
    }
    let output = child.wait_with_output().map_err(unavailable)?;
    if !output.status.success() {
        return Err(ApiError::internal("Graphviz could not draw the flow"));
    }
    Ok(output.stdout)
}

async fn overdue(State(state): State<AppState>, UiUser(user): UiUser) -> Response {
    let me = user.clone();
    let loaded = state
        .run(move |engine| {
            let mine: Vec<u64> = engine
                .inbox(me.id())?
                .iter()
                .map(|e| e.item.instance)
                .collect();
            let query = InstanceQuery {
                running: true,
                ..InstanceQuery::default()
            };
            let mut rows = Vec::new();
            for inst in engine.instances(&query)? {
                if !(me.has(Right::SeeOthers) || me.takes_part(&inst) || mine.contains(&inst.id)) {
                    continue;
                }
                let view = engine.instance(inst.id)?;
                for step in view.steps.iter().filter(|s| is_overdue(s)) {
                    rows.push((inst.clone(), step.clone()));
                }
            }
            Ok(rows)
        })
        .await;
    let rows = match loaded {
        Ok(r) => r,
        Err(e) => return error_page(e),
    };
    let body = html! {
        @if rows.is_empty() { p { "No step is past its deadline." } } @else {
            table {
                tr { th { "Process" } th { "Step" } th { "Responsible" } th { "Active since" } th { "Rungs fired" } }
                @for (inst, step) in &rows {
                    tr {
                        td { a href={ "/processes/" (inst.id) } { (inst.id) " · " (inst.template) } }
                        td { (step.name) }
                        td { (step.responsible.as_deref().unwrap_or("")) }
                        td { (step.activated_at.map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default()) }
                        td { (step.rungs_fired.len()) }
                    }
                }
            }
        }
    };
    page("Overdue deadlines", Some(&user), body).into_response()
}

async fn deliveries(State(state): State<AppState>, UiUser(user): UiUser) -> Response {
    if let Err(e) = user.require(Right::SeeOthers) {
        return error_page(e);
    }
    let rows = match state.run(|engine| Ok(engine.outbox()?)).await {
        Ok(rows) => rows,
        Err(e) => return error_page(e),
    };
    let failed: Vec<_> = rows.iter().filter(|o| is_failed(o)).collect();
    let body = html! {
        @if failed.is_empty() { p { "Every effect was delivered or waits for its first attempt." } } @else {
            table {
                tr { th { "Id" } th { "Process" } th { "Kind" } th { "To" } th { "Attempts" } th { "Next attempt" } th { "Last error" } }
                @for o in &failed {
                    tr {
                        td { (o.id) }
                        td { @if let Some(i) = o.instance { a href={ "/processes/" (i) } { (i) } } }
                        td { (enum_text(&o.kind)) } td { (o.to) } td { (o.attempts) }
                        td { @if o.failed_at.is_some() { "given up" } @else {
                            (o.not_before.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_default()) } }
                        td { (o.last_error.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
    };
    page("Failed deliveries", Some(&user), body).into_response()
}

#[derive(Deserialize)]
struct DecideQuery {
    token: String,
}

/// The page behind a decision link: it shows the answer and asks to confirm, because mail
/// scanners open links; only the confirmation (a POST) decides.
async fn decide_page(
    State(state): State<AppState>,
    query: Result<Query<DecideQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(DecideQuery { token })) = query else {
        return error_page(ApiError::bad_request("the decision link has no token"));
    };
    let engine = state.engine().clone();
    let decided = DecisionToken::verify(
        &token,
        &engine.config().decision_secret,
        engine.clock().now(),
    );
    match decided {
        Err(e) => error_page(e.into()),
        Ok(d) => {
            let body = html! {
                p { "Answer " strong { (if d.answer { "yes" } else { "no" }) } " to step " (d.step + 1)
                    " of process " (d.instance) "?" }
                form method="post" action="/decide" {
                    input type="hidden" name="token" value=(token);
                    button type="submit" { "Confirm" }
                }
            };
            page("Decision", None, body).into_response()
        }
    }
}

async fn decide(State(state): State<AppState>, Form(form): Form<DecideQuery>) -> Response {
    match state
        .run(move |engine| Ok(engine.decide_by_token(&form.token)?))
        .await
    {
        Ok(()) => page(
            "Decision recorded",
            None,
            html! { p { "Thank you: the process goes on with your answer." } },
        )
        .into_response(),
        Err(e) => error_page(e),
    }
}
