//! The API over real HTTP: every endpoint, every right, and bad input.

// Helpers outside #[test] functions unwrap too: their failing is the test failing.
#![allow(clippy::unwrap_used)]

mod common;

use common::{TestServer, json};
use reqwest::Method;
use serde_json::json;

/// seller_acquisition's steps by index.
const INTRO_MAIL: u32 = 0;
const FIRST_VISIT: u32 = 1;
const CALL_BACK: u32 = 2;
const WANTS_MANDATE: u32 = 3;
const MANDATE_LETTER: u32 = 4;

fn step<'a>(detail: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    detail["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no step {name} in {detail}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_metrics_and_openapi_need_no_token() {
    let server = TestServer::start().await;
    let (status, body) = json(
        server
            .request(Method::GET, "/health", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    assert!(body["plan"].as_str().unwrap().starts_with("sha256:"));

    let (status, doc) = json(
        server
            .request(Method::GET, "/api/v1/openapi.json", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/api/v1/instances",
        "/api/v1/instances/{id}/steps/{step}/complete",
        "/api/v1/records/{module}/{id}",
        "/api/v1/events/email",
        "/api/v1/controller-view",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is not documented");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["token"]["scheme"],
        "bearer"
    );

    server.get("/api/v1/me", "k.schmidt").await;
    let metrics = server
        .request(Method::GET, "/metrics", None)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "procc_http_requests_total{method=\"GET\",route=\"/api/v1/me\",status=\"200\"} 1"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("procc_http_request_duration_seconds_bucket"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_endpoint_refuses_a_request_without_a_valid_token() {
    let server = TestServer::start().await;
    let endpoints = [
        (Method::GET, "/api/v1/me"),
        (Method::POST, "/api/v1/tokens"),
        (Method::DELETE, "/api/v1/tokens"),
        (Method::GET, "/api/v1/plans"),
        (Method::POST, "/api/v1/plans"),
        (Method::GET, "/api/v1/templates"),
        (Method::GET, "/api/v1/instances"),
        (Method::POST, "/api/v1/instances"),
        (Method::GET, "/api/v1/instances/1"),
        (Method::POST, "/api/v1/instances/1/cancel"),
        (Method::POST, "/api/v1/instances/1/steps/0/complete"),
        (Method::POST, "/api/v1/instances/1/steps/0/skip"),
        (Method::POST, "/api/v1/instances/1/steps/0/reassign"),
        (Method::POST, "/api/v1/tasks/1/complete"),
        (Method::GET, "/api/v1/inbox"),
        (Method::GET, "/api/v1/controller-view"),
        (Method::GET, "/api/v1/deliveries"),
        (Method::GET, "/api/v1/endpoints/disabled"),
        (Method::POST, "/api/v1/endpoints/enable"),
        (Method::POST, "/api/v1/records/property"),
        (Method::GET, "/api/v1/records/property/P1"),
        (Method::PATCH, "/api/v1/records/property/P1"),
        (Method::POST, "/api/v1/events/email"),
        (Method::POST, "/api/v1/events/activity"),
    ];
    for (method, path) in endpoints {
        let response = server
            .request(method.clone(), path, None)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer realm=\"procc\""
        );
        let (status, body) = json(response).await;
        assert_eq!(status, 401, "{method} {path} without a token");
        assert_eq!(body["error"]["code"], "unauthorized");

        let (status, _) = json(
            server
                .client
                .request(method.clone(), format!("{}{path}", server.url))
                .bearer_auth(
                    "procc_0000000000000000000000000000000000000000000000000000000000000000",
                )
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 401, "{method} {path} with an unknown token");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_can_be_made_and_revoked() {
    let server = TestServer::start().await;
    let (status, body) = server.get("/api/v1/me", "m.weber").await;
    assert_eq!(status, 200);
    assert_eq!(body["id"], "m.weber");
    assert_eq!(body["rights"], json!(["start", "skip"]));

    let (status, made) = server.post("/api/v1/tokens", "m.weber", json!({})).await;
    assert_eq!(status, 201);
    let token = made["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("procc_") && token.len() == 70);
    let me = |t: String| {
        let client = server.client.clone();
        let url = format!("{}/api/v1/me", server.url);
        async move {
            client
                .get(url)
                .bearer_auth(t)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(me(token.clone()).await, 200);
    let revoked = server
        .client
        .delete(format!("{}/api/v1/tokens", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    assert_eq!(me(token).await, 401);
    // The other token of the user still works.
    assert_eq!(server.get("/api/v1/me", "m.weber").await.0, 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_are_listed_and_deployed_with_the_right_design() {
    let server = TestServer::start().await;
    let (status, plans) = server.get("/api/v1/plans", "t.wagner").await;
    assert_eq!(status, 200);
    assert_eq!(plans.as_array().unwrap().len(), 1);
    assert_eq!(plans[0]["current"], true);

    let mut plan = common::plan();
    plan.templates.retain(|t| t.name != "birthday_greeting");
    plan.hash = plan.compute_hash();
    let text = plan.to_json();
    let deploy = |user: &str| {
        server
            .request(Method::POST, "/api/v1/plans", Some(user))
            .header("content-type", "application/json")
            .body(text.clone())
            .send()
    };
    let (status, body) = json(deploy("m.weber").await.unwrap()).await;
    assert_eq!(status, 403);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`design`")
    );

    let (status, body) = json(deploy("k.schmidt").await.unwrap()).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["hash"], plan.hash.as_str());
    let (_, plans) = server.get("/api/v1/plans", "t.wagner").await;
    assert_eq!(plans.as_array().unwrap().len(), 2);
    assert_eq!(plans[0]["current"], false);
    assert_eq!(plans[1]["current"], true);
    let (_, templates) = server.get("/api/v1/templates", "t.wagner").await;
    assert!(
        !templates
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "birthday_greeting")
    );

    let tampered = text.replace("Acquisition of a seller", "Acquisition of a buyer");
    let (status, body) = json(
        server
            .request(Method::POST, "/api/v1/plans", Some("k.schmidt"))
            .body(tampered)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["code"], "invalid_plan");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("P4003")
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_runs_through_the_api() {
    let server = TestServer::start().await;
    let (status, body) = server
        .post(
            "/api/v1/instances",
            "v.viewer",
            json!({"template": "seller_acquisition", "property": "P3", "address": "A1"}),
        )
        .await;
    assert_eq!(status, 403, "{body}");

    let id = server.start_acquisition("m.weber").await;
    let path = format!("/api/v1/instances/{id}");
    let (status, detail) = server.get(&path, "j.becker").await;
    assert_eq!(status, 200);
    assert_eq!(detail["instance"]["status"], "running_due");
    assert_eq!(detail["instance"]["owner"], "j.becker");
    assert_eq!(step(&detail, "intro_mail")["state"], "active");
    assert_eq!(step(&detail, "intro_mail")["responsible"], "j.becker");
    assert_eq!(detail["history"][0]["event"], "started");

    // The inbox of the supervisor has the step; another user's has not.
    let (_, inbox) = server.get("/api/v1/inbox", "j.becker").await;
    assert_eq!(inbox[0]["step_name"], "intro_mail");
    assert_eq!(inbox[0]["position"], 1);
    assert_eq!(server.get("/api/v1/inbox", "a.yilmaz").await.1, json!([]));

    // Only the person the step waits for completes it.
    let complete = format!("{path}/steps/{INTRO_MAIL}/complete");
    let (status, body) = server.post(&complete, "m.weber", json!({})).await;
    assert_eq!(status, 403, "{body}");
    let (status, detail) = server.post(&complete, "j.becker", json!({})).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(step(&detail, "intro_mail")["state"], "done");
    assert_eq!(step(&detail, "first_visit")["state"], "scheduled");
    assert_eq!(detail["instance"]["status"], "running_waiting");
    assert_eq!(
        server.post(&complete, "j.becker", json!({})).await.0,
        409,
        "a done step cannot be completed again"
    );

    server.advance_days(2);
    let (_, detail) = server.get(&path, "j.becker").await;
    assert_eq!(step(&detail, "first_visit")["state"], "active");
    let first_visit = format!("{path}/steps/{FIRST_VISIT}/complete");
    assert_eq!(
        server.post(&first_visit, "j.becker", json!({})).await.0,
        200
    );

    // Skip needs the right; call_back allows skipping.
    server.advance_days(7);
    let skip = format!("{path}/steps/{CALL_BACK}/skip");
    let (status, body) = server.post(&skip, "t.wagner", json!({})).await;
    assert_eq!(status, 403, "{body}");
    let (status, detail) = server.post(&skip, "j.becker", json!({})).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(step(&detail, "call_back")["state"], "skipped");
    assert!(
        detail["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["kind"] == "email"
                && d["idempotency_key"].as_str().unwrap().ends_with("/skipped")),
        "the controller is told of the skip: {detail}"
    );

    // A decision needs an answer.
    let decide = format!("{path}/steps/{WANTS_MANDATE}/complete");
    let (status, body) = server.post(&decide, "j.becker", json!({})).await;
    assert_eq!(status, 422, "{body}");
    let (status, detail) = server
        .post(&decide, "j.becker", json!({"answer": true}))
        .await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(step(&detail, "wants_mandate")["answer"], true);
    assert_eq!(step(&detail, "mandate_letter")["state"], "active");

    // Cancel needs the right.
    let cancel = format!("{path}/cancel");
    assert_eq!(server.post(&cancel, "m.weber", json!({})).await.0, 403);
    let (status, summary) = server.post(&cancel, "j.becker", json!({})).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["status"], "cancelled");
    assert_eq!(summary["cancelled_by"], "j.becker");
    assert_eq!(
        server
            .post(
                &format!("{path}/steps/{MANDATE_LETTER}/complete"),
                "j.becker",
                json!({})
            )
            .await
            .0,
        409
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_are_idempotent_and_checked() {
    let server = TestServer::start().await;
    let body = json!({"template": "seller_acquisition", "owner": "j.becker", "property": "P3",
        "address": "A1", "idempotency_key": "crm-42"});
    let (_, first) = server
        .post("/api/v1/instances", "m.weber", body.clone())
        .await;
    let (_, again) = server.post("/api/v1/instances", "m.weber", body).await;
    assert_eq!(first["id"], again["id"]);

    let with_header = |key: &str| {
        server
            .request(Method::POST, "/api/v1/instances", Some("m.weber"))
            .header("Idempotency-Key", key)
            .json(&json!({"template": "seller_acquisition", "property": "P3", "address": "A1"}))
            .send()
    };
    let (_, a) = json(with_header("h-1").await.unwrap()).await;
    let (_, b) = json(with_header("h-1").await.unwrap()).await;
    assert_eq!(a["id"], b["id"]);
    assert_ne!(a["id"], first["id"]);

    for (body, status, code) in [
        (json!({"template": "nope"}), 404, "unknown_template"),
        (
            json!({"template": "seller_acquisition", "property": "P3"}),
            422,
            "missing_link",
        ),
        (
            json!({"template": "seller_acquisition", "property": "P9", "address": "A1"}),
            422,
            "invalid_input",
        ),
        (
            json!({"template": "seller_acquisition", "owner": "nobody", "property": "P3", "address": "A1"}),
            422,
            "invalid_input",
        ),
        (json!({"template": "x", "colour": "red"}), 422, "bad_json"),
        (json!({"owner": "k.schmidt"}), 422, "bad_json"),
    ] {
        let (got, answer) = server
            .post("/api/v1/instances", "m.weber", body.clone())
            .await;
        assert_eq!(got, status, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{body}: {answer}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_requests_get_clear_4xx_answers() {
    let server = TestServer::start().await;
    let send = |body: Vec<u8>, content_type: &'static str| {
        server
            .request(Method::POST, "/api/v1/instances", Some("m.weber"))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let (status, body) = json(
        send(b"{\"template\": ".to_vec(), "application/json")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "bad_json");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("EOF"),
        "{body}"
    );

    let (status, body) = json(send(b"{}".to_vec(), "text/plain").await.unwrap()).await;
    assert_eq!(status, 415, "{body}");

    let mut big = b"{\"template\": \"".to_vec();
    big.extend(std::iter::repeat_n(b'a', 300 * 1024));
    big.extend(b"\"}");
    let (status, body) = json(send(big, "application/json").await.unwrap()).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "body_too_large");

    let (status, body) = server.get("/api/v1/instances/abc", "m.weber").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "bad_path");
    let (status, body) = server.get("/api/v1/instances?limit=0", "m.weber").await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = server.get("/api/v1/instances?limit=x", "m.weber").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "bad_query");
    let (status, _) = server
        .get("/api/v1/instances?status=paused", "m.weber")
        .await;
    assert_eq!(status, 400);
    let (status, _) = server.get("/api/v1/instances/999", "k.schmidt").await;
    assert_eq!(status, 404);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_see_only_what_their_rights_allow() {
    let server = TestServer::start().await;
    let id = server.start_acquisition("m.weber").await;
    let other = {
        let (status, body) = server
            .post(
                "/api/v1/instances",
                "l.fischer",
                json!({"template": "letting", "property": "P2"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_u64().unwrap()
    };

    // t.wagner takes no part in either process.
    let (status, body) = server
        .get(&format!("/api/v1/instances/{id}"), "t.wagner")
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("see-others")
    );
    let (_, list) = server.get("/api/v1/instances", "t.wagner").await;
    assert_eq!(list["instances"], json!([]));
    // m.weber started the first one; j.becker owns it; k.schmidt sees everything.
    let ids = |list: &serde_json::Value| -> Vec<u64> {
        list["instances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(
        ids(&server.get("/api/v1/instances", "m.weber").await.1),
        [id]
    );
    assert_eq!(
        ids(&server.get("/api/v1/instances", "j.becker").await.1),
        [id]
    );
    assert_eq!(
        ids(&server.get("/api/v1/instances", "k.schmidt").await.1),
        [id, other]
    );
    // Filters and pages.
    let (_, page) = server.get("/api/v1/instances?limit=1", "k.schmidt").await;
    assert_eq!(ids(&page), [id]);
    assert_eq!(page["next_after"], id);
    let (_, page) = server
        .get(
            &format!("/api/v1/instances?limit=1&after={id}"),
            "k.schmidt",
        )
        .await;
    assert_eq!(ids(&page), [other]);
    assert!(page["next_after"].is_null());
    for (query, expected) in [
        ("template=letting", vec![other]),
        ("owner=j.becker", vec![id]),
        ("property=P3", vec![id]),
        ("address=A1", vec![id]),
        ("status=running", vec![id, other]),
        ("status=completed", vec![]),
        ("overdue=true", vec![]),
    ] {
        let (_, list) = server
            .get(&format!("/api/v1/instances?{query}"), "k.schmidt")
            .await;
        assert_eq!(ids(&list), expected, "{query}");
    }

    // The controller's view needs see-others, except for one's own.
    assert_eq!(
        server
            .get("/api/v1/controller-view?user=j.becker", "m.weber")
            .await
            .0,
        403
    );
    let (status, own) = server
        .get("/api/v1/controller-view?user=j.becker", "j.becker")
        .await;
    assert_eq!(status, 200);
    assert_eq!(own.as_array().unwrap().len(), 1);
    let (_, group) = server
        .get("/api/v1/controller-view?group=sales", "k.schmidt")
        .await;
    assert_eq!(group.as_array().unwrap().len(), 1, "{group}");
    let (_, all) = server.get("/api/v1/controller-view", "k.schmidt").await;
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
    assert_eq!(
        server
            .get("/api/v1/controller-view?user=a&group=b", "k.schmidt")
            .await
            .0,
        400
    );
    assert_eq!(server.get("/api/v1/deliveries", "m.weber").await.0, 403);
    assert_eq!(
        server
            .get("/api/v1/deliveries?failed=true", "k.schmidt")
            .await
            .0,
        200
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responsibility_changes_follow_the_rights() {
    let server = TestServer::start().await;
    let id = server.start_acquisition("m.weber").await;
    let reassign = format!("/api/v1/instances/{id}/steps/{INTRO_MAIL}/reassign");
    // a.yilmaz takes no part in it.
    assert_eq!(
        server
            .post(&reassign, "a.yilmaz", json!({"user": "a.yilmaz"}))
            .await
            .0,
        403
    );
    // this and following needs adjust-following.
    let (status, body) = server
        .post(
            &reassign,
            "j.becker",
            json!({"user": "a.yilmaz", "this_and_following": true}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("adjust-following")
    );
    let (status, detail) = server
        .post(&reassign, "j.becker", json!({"user": "a.yilmaz"}))
        .await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(step(&detail, "intro_mail")["responsible"], "a.yilmaz");
    assert_eq!(
        server.get("/api/v1/inbox", "a.yilmaz").await.1[0]["step_name"],
        "intro_mail"
    );

    let (status, _) = server
        .post(
            &reassign,
            "k.schmidt",
            json!({"user": "m.weber", "this_and_following": true}),
        )
        .await;
    assert_eq!(status, 200);
    let complete = format!("/api/v1/instances/{id}/steps/{INTRO_MAIL}/complete");
    assert_eq!(server.post(&complete, "m.weber", json!({})).await.0, 200);
    server.advance_days(2);
    let (_, detail) = server
        .get(&format!("/api/v1/instances/{id}"), "m.weber")
        .await;
    assert_eq!(step(&detail, "first_visit")["responsible"], "m.weber");
    let (status, body) = server
        .post(&reassign, "k.schmidt", json!({"user": "nobody"}))
        .await;
    assert_eq!(status, 422, "{body}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_are_created_read_updated_and_raise_trigger_events() {
    let server = TestServer::start().await;
    let (status, body) = server
        .post(
            "/api/v1/records/property",
            "t.wagner",
            json!({"id": "P7", "fields": {"purchase_price": 250000, "supervisor": "m.weber", "status": "active"},
                "filters": ["active-sales"]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        server
            .post("/api/v1/records/property", "t.wagner", json!({"id": "P7"}))
            .await
            .0,
        409
    );
    for (fields, needle) in [
        (json!({"purchase_price": "cheap"}), "amount of money"),
        (json!({"colour": "red"}), "has no field `colour`"),
        (json!({"status": "flying"}), "not a status"),
        (json!({"supervisor": "nobody"}), "not a user"),
        (json!({"marketing_type": "swap"}), "not a value"),
    ] {
        let (status, body) = server
            .post(
                "/api/v1/records/property",
                "t.wagner",
                json!({"id": "P8", "fields": fields}),
            )
            .await;
        assert_eq!(status, 422, "{fields}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(needle),
            "{fields}: {body}"
        );
    }
    assert_eq!(
        server.get("/api/v1/records/garage/G1", "t.wagner").await.0,
        404
    );
    assert_eq!(
        server
            .get("/api/v1/records/property/P8", "t.wagner")
            .await
            .0,
        404
    );
    let (status, record) = server.get("/api/v1/records/property/P7", "t.wagner").await;
    assert_eq!(status, 200);
    assert_eq!(record["fields"]["purchase_price"], 250000);

    // A changed price of a property in `active-sales` starts a revaluation, once per save.
    let patch = |body: serde_json::Value| {
        server
            .request(
                Method::PATCH,
                "/api/v1/records/property/P7",
                Some("t.wagner"),
            )
            .json(&body)
            .send()
    };
    let (status, updated) = json(
        patch(json!({"fields": {"purchase_price": 240000, "rooms": 3}, "occurrence": "save-1"}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["changed"], json!(["purchase_price", "rooms"]));
    assert_eq!(updated["started"].as_array().unwrap().len(), 1);
    let (_, again) = json(
        patch(json!({"fields": {"purchase_price": 240000}, "occurrence": "save-1"}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(again["changed"], json!([]));
    assert_eq!(again["started"], json!([]));
    let (_, other) = json(patch(json!({"fields": {"rooms": 4}})).await.unwrap()).await;
    assert_eq!(other["started"], json!([]), "rooms is not a trigger field");

    // A status set to `let` starts the letting process.
    let (status, updated) = json(
        server
            .request(
                Method::PATCH,
                "/api/v1/records/property/P2",
                Some("t.wagner"),
            )
            .header("Idempotency-Key", "save-2")
            .json(&json!({"fields": {"status": "let"}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["started"].as_array().unwrap().len(), 1, "{updated}");
    let started = updated["started"][0].as_u64().unwrap();
    let (_, detail) = server
        .get(&format!("/api/v1/instances/{started}"), "k.schmidt")
        .await;
    assert_eq!(detail["instance"]["template"], "letting");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_and_activity_events_start_their_templates_once() {
    let server = TestServer::start().await;
    let email = json!({"address": "A2", "property": "P1", "id": "mail-1",
        "from": "ben.buyer@example.org", "subject": "Flat on Rheinstraße", "feature": "inquiry"});
    let (status, body) = server
        .post("/api/v1/events/email", "t.wagner", email.clone())
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["started"].as_array().unwrap().len(), 1);
    let (_, again) = server.post("/api/v1/events/email", "t.wagner", email).await;
    assert_eq!(again["started"], json!([]));

    let activity = json!({"address": "A3", "id": "act-1", "kind": "viewing", "type": "done"});
    let (status, body) = server
        .post("/api/v1/events/activity", "t.wagner", activity)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["started"].as_array().unwrap().len(), 1);
    let (status, body) = server
        .post(
            "/api/v1/events/activity",
            "t.wagner",
            json!({"address": "A404", "id": "act-2", "kind": "viewing"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_steps_complete_with_their_task_and_deadlines_show_as_overdue() {
    let server = TestServer::start().await;
    let (_, started) = server
        .post(
            "/api/v1/events/activity",
            "t.wagner",
            json!({"address": "A3", "id": "act-9", "kind": "viewing", "type": "done"}),
        )
        .await;
    let id = started["started"][0].as_u64().unwrap();
    let path = format!("/api/v1/instances/{id}");
    // assign_property takes the property's id as its value.
    let (status, detail) = server
        .post(
            &format!("{path}/steps/0/complete"),
            "l.fischer",
            json!({"value": "P2"}),
        )
        .await;
    assert_eq!(status, 200, "{detail}");
    server.advance_days(1);
    let (_, detail) = server.get(&path, "l.fischer").await;
    let task = step(&detail, "feedback_task")["task"].as_u64().unwrap();
    assert_eq!(step(&detail, "feedback_task")["overdue"], false);

    server.advance_days(3);
    let (_, overdue) = server
        .get("/api/v1/instances?overdue=true", "k.schmidt")
        .await;
    assert_eq!(overdue["instances"][0]["id"], id, "{overdue}");
    let (_, detail) = server.get(&path, "k.schmidt").await;
    assert_eq!(step(&detail, "feedback_task")["overdue"], true);

    let complete_task = format!("/api/v1/tasks/{task}/complete");
    assert_eq!(
        server.post(&complete_task, "t.wagner", json!({})).await.0,
        403
    );
    let (status, body) = server.post(&complete_task, "m.weber", json!({})).await;
    assert_eq!(status, 204, "{body}");
    let (_, detail) = server.get(&path, "k.schmidt").await;
    assert_eq!(step(&detail, "feedback_task")["state"], "done");
    assert_eq!(
        server.post(&complete_task, "m.weber", json!({})).await.0,
        403
    );
    assert_eq!(
        server
            .post("/api/v1/tasks/999/complete", "k.schmidt", json!({}))
            .await
            .0,
        404
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decision_links_decide_once_after_a_confirmation() {
    let server = TestServer::start().await;
    let id = server.start_acquisition("m.weber").await;
    let path = format!("/api/v1/instances/{id}");
    for s in [INTRO_MAIL, FIRST_VISIT, CALL_BACK] {
        let (status, body) = server
            .post(&format!("{path}/steps/{s}/skip"), "j.becker", json!({}))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (yes, _) = server.engine.decision_tokens(id, WANTS_MANDATE).unwrap();
    let page = server
        .client
        .get(format!("{}/decide?token={yes}", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let text = page.text().await.unwrap();
    assert!(text.contains("Answer <strong>yes</strong>"), "{text}");
    // Opening the link decides nothing.
    let (_, detail) = server.get(&path, "j.becker").await;
    assert_eq!(step(&detail, "wants_mandate")["state"], "active");

    let confirm = || {
        server
            .client
            .post(format!("{}/decide", server.url))
            .form(&[("token", yes.as_str())])
            .send()
    };
    let done = confirm().await.unwrap();
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("Decision recorded"));
    let (_, detail) = server.get(&path, "j.becker").await;
    assert_eq!(step(&detail, "wants_mandate")["answer"], true);
    assert_eq!(
        confirm().await.unwrap().status(),
        409,
        "a link decides once"
    );

    let bad = server
        .client
        .get(format!("{}/decide?token=forged.token", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_answers_every_request_it_took_and_loses_nothing() {
    let server = TestServer::start().await;
    let mut requests = Vec::new();
    for n in 0..40 {
        let request = server
            .request(Method::POST, "/api/v1/instances", Some("m.weber"))
            .json(
                &json!({"template": "seller_acquisition", "property": "P3", "address": "A1",
                "idempotency_key": format!("stop-{n}")}),
            )
            .send();
        requests.push(tokio::spawn(request));
    }
    let engine = server.engine.clone();
    // Stop once the first start is stored, while the others are on their way.
    for _ in 0..500 {
        let stored = engine
            .instances(&procc_runtime::InstanceQuery::default())
            .unwrap();
        if !stored.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    server.stop().await;
    let mut answered = 0;
    for request in requests {
        match request.await.unwrap() {
            Ok(response) => {
                assert_eq!(response.status(), 201);
                answered += 1;
            }
            // Not taken: the listener was closed before the connection was accepted.
            Err(e) => assert!(e.is_connect() || e.is_request(), "{e}"),
        }
    }
    let stored = engine
        .instances(&procc_runtime::InstanceQuery::default())
        .unwrap()
        .len();
    assert!(answered > 0, "some requests were taken before the stop");
    assert_eq!(
        stored, answered,
        "every stored start was answered, and only those"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_enables_an_endpoint_that_answered_410() {
    let server = TestServer::start().await;
    let id = server.start_acquisition("j.becker").await;
    // A skip e-mails the controller: an effect to claim.
    let skip = format!("/api/v1/instances/{id}/steps/{INTRO_MAIL}/skip");
    assert_eq!(server.post(&skip, "j.becker", json!({})).await.0, 200);
    let engine = server.engine.clone();
    let effect = engine
        .claim_effects(1, chrono::Duration::minutes(5))
        .unwrap()
        .pop()
        .expect("the process wrote an effect");
    let endpoint = procc_runtime::endpoint_of(&effect);
    engine
        .record_attempt(
            effect.id,
            &procc_runtime::AttemptReport {
                attempt: effect.attempts,
                started_at: procc_runtime::Clock::now(engine.clock().as_ref()),
                status: Some(410),
                latency: std::time::Duration::from_millis(3),
                excerpt: None,
                result: procc_runtime::AttemptResult::Gone {
                    error: "HTTP 410 Gone".into(),
                },
            },
        )
        .unwrap();

    // Listing needs see-others, enabling needs design.
    assert_eq!(
        server.get("/api/v1/endpoints/disabled", "m.weber").await.0,
        403
    );
    let (status, list) = server.get("/api/v1/endpoints/disabled", "k.schmidt").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(
        list,
        json!([{"endpoint": endpoint, "reason": "HTTP 410 Gone"}])
    );
    let enable = json!({ "endpoint": endpoint });
    assert_eq!(
        server
            .post("/api/v1/endpoints/enable", "m.weber", enable.clone())
            .await
            .0,
        403
    );
    let (status, body) = server
        .post("/api/v1/endpoints/enable", "k.schmidt", json!({"url": "x"}))
        .await;
    assert_eq!(status, 422, "unknown fields are refused: {body}");
    let (status, body) = server
        .post("/api/v1/endpoints/enable", "k.schmidt", enable.clone())
        .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(engine.endpoint_disabled(endpoint).unwrap(), None);
    assert!(
        engine
            .audit()
            .unwrap()
            .iter()
            .any(|a| a.event == "endpoint_enabled" && a.who == "k.schmidt")
    );
    let (status, body) = server
        .post("/api/v1/endpoints/enable", "k.schmidt", enable)
        .await;
    assert_eq!(status, 404, "it is no longer disabled: {body}");
    assert_eq!(
        server
            .get("/api/v1/endpoints/disabled", "k.schmidt")
            .await
            .1,
        json!([])
    );
    server.stop().await;
}

/// Ids and keys with a control character (a NUL cannot be stored in PostgreSQL text) or of
/// more than 200 bytes are refused with 422 before they reach the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_and_keys_with_control_characters_or_too_long_are_refused() {
    let server = TestServer::start().await;
    let long = "P".repeat(201);
    let refused = [
        (
            "/api/v1/records/property",
            json!({"id": "P\u{0}7"}),
            "the record id holds a control character",
        ),
        (
            "/api/v1/records/property",
            json!({"id": long}),
            "the record id is longer than 200 bytes",
        ),
        (
            "/api/v1/instances",
            json!({"template": "seller_acquisition", "property": "P3\u{0}", "address": "A1"}),
            "the property id holds a control character",
        ),
        (
            "/api/v1/instances",
            json!({"template": "seller_acquisition", "property": "P3", "address": "A1",
                "idempotency_key": "k\n1"}),
            "the idempotency key holds a control character",
        ),
        (
            "/api/v1/events/email",
            json!({"address": "A1", "id": "m\u{0}1", "from": "a@example.org", "subject": "Hi"}),
            "the event id holds a control character",
        ),
        (
            "/api/v1/events/activity",
            json!({"address": "A1", "id": "a".repeat(201), "kind": "call"}),
            "the event id is longer than 200 bytes",
        ),
        (
            "/api/v1/endpoints/enable",
            json!({"endpoint": "https://valuation.example.org\u{0}"}),
            "the endpoint holds a control character",
        ),
    ];
    for (path, body, message) in refused {
        let (status, answer) = server.post(path, "k.schmidt", body).await;
        assert_eq!(status, 422, "{path}: {answer}");
        assert_eq!(answer["error"]["code"], "invalid_input", "{answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains(message),
            "{path}: {answer}"
        );
    }
    let (status, answer) = server
        .get("/api/v1/records/property/P%007", "t.wagner")
        .await;
    assert_eq!(status, 422, "{answer}");
    let patched = server
        .request(
            Method::PATCH,
            "/api/v1/records/property/P%007",
            Some("t.wagner"),
        )
        .json(&json!({"fields": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 422);
    // An event id of 200 bytes goes through, although the occurrence the server makes of it
    // (`email/{id}`) is longer: the engine's limit for occurrences leaves room for the tag.
    let (status, answer) = server
        .post(
            "/api/v1/events/email",
            "k.schmidt",
            json!({"address": "A1", "id": "m".repeat(200), "from": "a@example.org",
                "subject": "Hi"}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    // Records imported at start (`procc serve --seed`) are held to the same rule.
    let imported = procc_server::api::import_records(
        &server.engine,
        r#"[{"module": "property", "id": "P\u00007"}]"#,
    )
    .expect_err("refused");
    assert!(
        imported.message.contains("control character"),
        "{imported:?}"
    );
    // The same request without the bad character goes through.
    let (status, answer) = server
        .post("/api/v1/records/property", "t.wagner", json!({"id": "P77"}))
        .await;
    assert_eq!(status, 201, "{answer}");
    server.stop().await;
}
