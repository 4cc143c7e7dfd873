//! The W3C WebDriver endpoint (the subset Appium's XCUITest, UiAutomator2 and Mac2 drivers serve
//! that a test of this app needs): sessions, find element(s) (also below an element), click, send
//! keys, clear, text, attribute, displayed, enabled, tag name, rect, page source, screenshot, back,
//! timeouts; unknown paths are `unknown command`, wrong methods `unknown method`. Routes are also
//! served under `/wd/hub`, the base path older Appium clients use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{Method, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine;
use serde_json::{Value, json};

use crate::app::EmulatedApp;
use crate::defects::PhoneDefect;
use crate::device::Device;
use crate::locate;
use crate::relay::RelayClient;
use crate::w3c::{W3cError, element_ref, ok};

type Result<T> = std::result::Result<T, W3cError>;
type SessionHandle = Arc<tokio::sync::Mutex<EmulatedApp>>;

/// What every request handler shares.
pub struct Shared {
    pub(crate) relay: RelayClient,
    pub(crate) defects: Vec<PhoneDefect>,
    pub(crate) sessions: Mutex<HashMap<String, SessionHandle>>,
}

type St = State<Arc<Shared>>;

/// The router, with its state.
pub fn router(shared: Arc<Shared>) -> Router {
    let routes = Router::new()
        .route("/status", get(status))
        .route("/session", post(new_session))
        .route("/session/{sid}", axum::routing::delete(delete_session))
        .route("/session/{sid}/element", post(find_one))
        .route("/session/{sid}/elements", post(find_many))
        .route("/session/{sid}/element/{eid}/element", post(find_one_from))
        .route("/session/{sid}/element/{eid}/elements", post(find_many_from))
        .route("/session/{sid}/element/{eid}/click", post(click))
        .route("/session/{sid}/element/{eid}/value", post(send_keys))
        .route("/session/{sid}/element/{eid}/clear", post(clear))
        .route("/session/{sid}/element/{eid}/text", get(text))
        .route("/session/{sid}/element/{eid}/attribute/{name}", get(attribute))
        .route("/session/{sid}/element/{eid}/displayed", get(displayed))
        .route("/session/{sid}/element/{eid}/enabled", get(enabled))
        .route("/session/{sid}/element/{eid}/name", get(tag_name))
        .route("/session/{sid}/element/{eid}/rect", get(rect))
        .route("/session/{sid}/source", get(source))
        .route("/session/{sid}/screenshot", get(screenshot))
        .route("/session/{sid}/back", post(back))
        .route("/session/{sid}/timeouts", get(get_timeouts).post(set_timeouts))
        .method_not_allowed_fallback(wrong_method);
    Router::new().merge(routes.clone()).nest("/wd/hub", routes).fallback(unknown).with_state(shared)
}

async fn unknown(method: Method, uri: Uri) -> W3cError {
    W3cError::unknown_command(format!("{method} {} is not a command this phone knows", uri.path()))
}

async fn wrong_method(method: Method, uri: Uri) -> W3cError {
    W3cError::unknown_method(format!("{method} is not allowed on {}", uri.path()))
}

fn body_json(body: &str) -> Result<Value> {
    if body.trim().is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_str(body).map_err(|e| W3cError::invalid_argument(format!("the request body is not JSON: {e}")))
}

fn session(s: &Shared, sid: &str) -> Result<SessionHandle> {
    s.sessions.lock().unwrap_or_else(|e| e.into_inner()).get(sid).cloned().ok_or_else(|| W3cError::invalid_session(sid))
}

async fn status(State(_s): St) -> Response {
    ok(
        json!({"ready": true, "message": "resetlab emulated phone (FLIR Cloud app)", "build": {"version": env!("CARGO_PKG_VERSION")}}),
    )
}

async fn new_session(State(s): St, body: String) -> Result<Response> {
    let device = Device::from_new_session(&body_json(&body)?)?;
    let caps = Value::Object(device.capabilities.clone());
    let id = format!("{:032x}", rand::random::<u128>());
    let app = EmulatedApp::new(device, s.defects.clone(), s.relay.clone());
    s.sessions.lock().unwrap_or_else(|e| e.into_inner()).insert(id.clone(), Arc::new(tokio::sync::Mutex::new(app)));
    tracing::debug!(session = %id, "phone session created");
    Ok(ok(json!({"sessionId": id, "capabilities": caps})))
}

async fn delete_session(State(s): St, Path(sid): Path<String>) -> Result<Response> {
    s.sessions.lock().unwrap_or_else(|e| e.into_inner()).remove(&sid).ok_or_else(|| W3cError::invalid_session(&sid))?;
    Ok(ok(Value::Null))
}

/// `e<seq>:<name>`: the screen it was found on and its accessibility id.
fn element_id(app: &EmulatedApp, name: &str) -> String {
    format!("e{}:{name}", app.seq())
}

/// The name of the element `eid` if it is still on the current screen.
fn resolve(app: &EmulatedApp, eid: &str) -> Result<String> {
    let (seq, name) = eid
        .strip_prefix('e')
        .and_then(|r| r.split_once(':'))
        .and_then(|(seq, name)| Some((seq.parse::<u64>().ok()?, name)))
        .ok_or_else(|| W3cError::no_such_element(format!("{eid:?} is not an element reference of this phone")))?;
    if seq != app.seq() || app.render().find(name).is_none() {
        return Err(W3cError::stale(format!("element {name:?} is no longer on the screen (the app moved on)")));
    }
    Ok(name.to_owned())
}

fn locator(body: &str) -> Result<(String, String)> {
    let v = body_json(body)?;
    let field = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| W3cError::invalid_argument(format!("find element needs a string {k:?}, got {v}")))
    };
    Ok((field("using")?, field("value")?))
}

async fn find(s: &Shared, sid: &str, from: Option<&str>, body: &str, many: bool) -> Result<Response> {
    let (using, value) = locator(body)?;
    let handle = session(s, sid)?;
    let app = handle.lock().await;
    let scope = from.map(|eid| resolve(&app, eid)).transpose()?;
    let tree = app.render();
    let names = locate::find(&tree, app.device().platform, &using, &value, scope.as_deref())?;
    if many {
        return Ok(ok(Value::Array(names.iter().map(|n| element_ref(&element_id(&app, n))).collect())));
    }
    let first = names
        .first()
        .ok_or_else(|| W3cError::no_such_element(format!("no element matches {using} {value:?} on this screen")))?;
    Ok(ok(element_ref(&element_id(&app, first))))
}

async fn find_one(State(s): St, Path(sid): Path<String>, body: String) -> Result<Response> {
    find(&s, &sid, None, &body, false).await
}

async fn find_many(State(s): St, Path(sid): Path<String>, body: String) -> Result<Response> {
    find(&s, &sid, None, &body, true).await
}

async fn find_one_from(State(s): St, Path((sid, eid)): Path<(String, String)>, body: String) -> Result<Response> {
    find(&s, &sid, Some(&eid), &body, false).await
}

async fn find_many_from(State(s): St, Path((sid, eid)): Path<(String, String)>, body: String) -> Result<Response> {
    find(&s, &sid, Some(&eid), &body, true).await
}

async fn click(State(s): St, Path((sid, eid)): Path<(String, String)>) -> Result<Response> {
    let handle = session(&s, &sid)?;
    let mut app = handle.lock().await;
    let name = resolve(&app, &eid)?;
    app.tap(&name).await?;
    Ok(ok(Value::Null))
}

async fn send_keys(State(s): St, Path((sid, eid)): Path<(String, String)>, body: String) -> Result<Response> {
    let v = body_json(&body)?;
    let text = match (v.get("text"), v.get("value")) {
        (Some(Value::String(t)), _) => t.clone(),
        (_, Some(Value::Array(keys))) => keys.iter().filter_map(Value::as_str).collect(),
        _ => {
            return Err(W3cError::invalid_argument(format!(
                "send keys needs a string \"text\", got {}",
                redacted_shape(&v)
            )));
        }
    };
    let handle = session(&s, &sid)?;
    let mut app = handle.lock().await;
    let name = resolve(&app, &eid)?;
    app.type_into(&name, &text)?;
    Ok(ok(Value::Null))
}

/// A body's keys without their values: typed text may be a password.
fn redacted_shape(v: &Value) -> String {
    match v.as_object() {
        Some(m) => format!("an object with keys {:?}", m.keys().collect::<Vec<_>>()),
        None => "no JSON object".into(),
    }
}

async fn clear(State(s): St, Path((sid, eid)): Path<(String, String)>) -> Result<Response> {
    let handle = session(&s, &sid)?;
    let mut app = handle.lock().await;
    let name = resolve(&app, &eid)?;
    app.clear(&name)?;
    Ok(ok(Value::Null))
}

async fn with_node<T>(
    s: &Shared,
    sid: &str,
    eid: &str,
    f: impl FnOnce(&crate::ui::Node, crate::device::Platform) -> T,
) -> Result<T> {
    let handle = session(s, sid)?;
    let app = handle.lock().await;
    let name = resolve(&app, eid)?;
    let tree = app.render();
    let node =
        tree.find(&name).ok_or_else(|| W3cError::stale(format!("element {name:?} is no longer on the screen")))?;
    Ok(f(node, app.device().platform))
}

async fn text(State(s): St, Path((sid, eid)): Path<(String, String)>) -> Result<Response> {
    Ok(ok(Value::from(with_node(&s, &sid, &eid, |n, p| n.text(p)).await?)))
}

async fn attribute(State(s): St, Path((sid, eid, name)): Path<(String, String, String)>) -> Result<Response> {
    Ok(ok(with_node(&s, &sid, &eid, |n, p| n.attribute(p, &name)).await?.map_or(Value::Null, Value::from)))
}

async fn displayed(State(s): St, Path((sid, eid)): Path<(String, String)>) -> Result<Response> {
    Ok(ok(Value::Bool(with_node(&s, &sid, &eid, |_, _| true).await?)))
}

async fn enabled(State(s): St, Path((sid, eid)): Path<(String, String)>) -> Result<Response> {
    Ok(ok(Value::Bool(with_node(&s, &sid, &eid, |n, _| n.enabled).await?)))
}

async fn tag_name(State(s): St, Path((sid, eid)): Path<(String, String)>) -> Result<Response> {
    Ok(ok(Value::from(with_node(&s, &sid, &eid, |n, p| n.kind.type_name(p)).await?)))
}

async fn rect(State(s): St, Path((sid, eid)): Path<(String, String)>) -> Result<Response> {
    let r = with_node(&s, &sid, &eid, |n, _| n.rect).await?;
    Ok(ok(json!({"x": r.x, "y": r.y, "width": r.w, "height": r.h})))
}

async fn source(State(s): St, Path(sid): Path<String>) -> Result<Response> {
    let handle = session(&s, &sid)?;
    let app = handle.lock().await;
    let d = app.device();
    Ok(ok(Value::from(app.render().page_source(d.platform, d.screen_size()))))
}

async fn screenshot(State(s): St, Path(sid): Path<String>) -> Result<Response> {
    let handle = session(&s, &sid)?;
    let app = handle.lock().await;
    let bytes = crate::screenshot::png(&app.render(), app.device().screen_size());
    Ok(ok(Value::from(base64::engine::general_purpose::STANDARD.encode(bytes))))
}

async fn back(State(s): St, Path(sid): Path<String>) -> Result<Response> {
    let handle = session(&s, &sid)?;
    handle.lock().await.back();
    Ok(ok(Value::Null))
}

async fn get_timeouts(State(s): St, Path(sid): Path<String>) -> Result<Response> {
    session(&s, &sid)?;
    Ok(ok(json!({"implicit": 0, "pageLoad": 300000, "script": 30000})))
}

async fn set_timeouts(State(s): St, Path(sid): Path<String>, body: String) -> Result<Response> {
    session(&s, &sid)?;
    // The emulated app updates its screen before a tap returns: there is nothing to wait for.
    let v = body_json(&body)?;
    if !v.is_object() {
        return Err(W3cError::invalid_argument("timeouts must be a JSON object"));
    }
    Ok(ok(Value::Null))
}
