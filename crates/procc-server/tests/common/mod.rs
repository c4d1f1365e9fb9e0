//! A real server on a loopback port, on a SQLite file, with the examples' plan deployed, the
//! demo records imported, a virtual clock and a token per user.

// Each test binary uses a part of this module; its setup failing is the test failing.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use procc_plan::{Plan, User};
use procc_runtime::{AnyStore, Engine, EngineConfig, SqliteStore, VirtualClock};
use procc_server::{AppState, ServerEngine};
use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::Value;
use tokio::sync::oneshot;

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The examples' plan, plus a user without rights (`v.viewer`).
pub fn plan() -> Plan {
    let text = std::fs::read_to_string(root().join("tests/plans/examples.plan.json")).unwrap();
    let mut plan = procc_plan::load(procc_diagnostics::FileId(0), &text).unwrap();
    plan.catalog.users.push(User {
        id: "v.viewer".into(),
        name: "Vera Viewer".into(),
        email: "v.viewer@example-immobilien.de".into(),
        mobile: None,
        groups: vec!["office".into()],
        rights: vec![],
        address: None,
    });
    plan.hash = plan.compute_hash();
    plan
}

/// A running server.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The engine behind it.
    pub engine: Arc<ServerEngine>,
    /// Its clock (2026-11-30 09:00 UTC at start).
    pub clock: Arc<VirtualClock>,
    /// A token per user id.
    pub tokens: HashMap<String, String>,
    /// A client without cookies.
    pub client: Client,
    stop: Option<oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// Starts a server.
    pub async fn start() -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("procc.db");
        let clock = Arc::new(VirtualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 30, 9, 0, 0).unwrap(),
        ));
        let config = EngineConfig {
            decision_secret: b"0123456789abcdef0123456789abcdef".to_vec(),
            ..EngineConfig::default()
        };
        let engine = Arc::new(Engine::new(
            AnyStore::Sqlite(SqliteStore::open(&db).unwrap()),
            clock.clone(),
            config,
        ));
        let plan = plan();
        engine.deploy(&plan).unwrap();
        let records = std::fs::read_to_string(root().join("examples/demo-records.json")).unwrap();
        procc_server::api::import_records(&engine, &records).unwrap();
        let mut tokens = HashMap::new();
        for user in &plan.catalog.users {
            let token = procc_server::auth::create_token(&engine, &user.id).unwrap();
            tokens.insert(user.id.clone(), token);
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(procc_server::serve(
            listener,
            AppState::new(engine.clone()),
            async move {
                let _ = stopped.await;
            },
        ));
        TestServer {
            url,
            engine,
            clock,
            tokens,
            client: Client::new(),
            stop: Some(stop),
            served: Some(served),
            _dir: dir,
        }
    }

    /// A request as `user` (`None`: without a token).
    pub fn request(&self, method: Method, path: &str, user: Option<&str>) -> RequestBuilder {
        let builder = self.client.request(method, format!("{}{path}", self.url));
        match user {
            Some(u) => builder.bearer_auth(&self.tokens[u]),
            None => builder,
        }
    }

    /// GET as `user`: status and JSON body.
    pub async fn get(&self, path: &str, user: &str) -> (u16, Value) {
        json(
            self.request(Method::GET, path, Some(user))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// POST JSON as `user`: status and JSON body.
    pub async fn post(&self, path: &str, user: &str, body: Value) -> (u16, Value) {
        json(
            self.request(Method::POST, path, Some(user))
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Starts seller_acquisition for property P3 (supervisor j.becker) and address A1, owned
    /// by j.becker, started by `by`; the instance id.
    pub async fn start_acquisition(&self, by: &str) -> u64 {
        let (status, body) = self
            .post(
                "/api/v1/instances",
                by,
                serde_json::json!({"template": "seller_acquisition", "owner": "j.becker",
                    "property": "P3", "address": "A1"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_u64().unwrap()
    }

    /// Moves the virtual clock on and fires what is due.
    pub fn advance_days(&self, days: i64) {
        let until = self.clock_now() + chrono::Duration::days(days);
        self.engine.advance_to(&self.clock, until, None).unwrap();
    }

    fn clock_now(&self) -> chrono::DateTime<Utc> {
        use procc_runtime::Clock;
        self.clock.now()
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.take() {
            served.await.unwrap().unwrap();
        }
    }
}

/// Status and JSON body of a response (`null` when the body is empty).
pub async fn json(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}
