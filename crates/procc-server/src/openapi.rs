//! The OpenAPI 3.1 document of the API, generated from the handlers' annotations and types,
//! so it cannot drift from the code.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "procc",
        description = "Start and run processes of real-estate CRM templates: processes, steps, \
                       inboxes, records and their trigger events. Every endpoint under /api/v1 \
                       needs an API token as `Authorization: Bearer <token>`."
    ),
    paths(
        api::health,
        api::metrics,
        api::openapi,
        api::me,
        api::create_token,
        api::revoke_current_token,
        api::list_plans,
        api::deploy_plan,
        api::list_templates,
        api::start_process,
        api::list_instances,
        api::get_instance,
        api::cancel_process,
        api::complete_step,
        api::skip_step,
        api::reassign_step,
        api::complete_task,
        api::inbox,
        api::controller_view,
        api::list_deliveries,
        api::list_disabled_endpoints,
        api::enable_endpoint,
        api::create_record,
        api::get_record,
        api::update_record,
        api::email_received,
        api::activity_received,
    ),
    modifiers(&BearerToken),
    tags(
        (name = "processes", description = "Start, list, inspect and cancel processes"),
        (name = "steps", description = "Inboxes; complete, skip and reassign steps"),
        (name = "records", description = "Addresses, properties, projects and their events"),
        (name = "plans", description = "Deployed plan versions and their templates"),
        (name = "users", description = "The signed-in user and API tokens"),
        (name = "operations", description = "Health, metrics, deliveries, disabled endpoints, this document"),
    )
)]
struct ApiDoc;

struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "token",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("procc_<64 hex digits>")
                        .build(),
                ),
            );
        }
    }
}

/// The OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}
