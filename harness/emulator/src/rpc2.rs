//! RPC2, the JSON-over-HTTP-POST API of Dahua-family firmware: the two-step `global.login` on
//! `/RPC2_Login`, then session calls on `/RPC2`. Reply shapes follow the firmware:
//! `{"id":N,"result":bool,"params":{…},"error":{"code":…,"message":…},"session":…}`.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode, header};
use resetlab_wire::rpc2::login_hash;
use serde_json::{Value, json};

use crate::accounts::Via;
use crate::defects::Defect;
use crate::firmware::{Auth, Caller, Firmware};

/// Error codes of the firmware.
pub(crate) mod codes {
    pub const LOGIN_CHALLENGE: i64 = 268632079;
    pub const BAD_CREDENTIALS: i64 = 268632085;
    pub const LOCKED: i64 = 268632081;
    pub const INVALID_SESSION: i64 = 287637505;
    pub const INVALID_REQUEST: i64 = 268894209;
    pub const METHOD_NOT_FOUND: i64 = 268894210;
    pub const REFUSED: i64 = 268632064;
}

/// Client types that a buggy firmware trusted as "already on the box".
const LOOPBACK_CLIENTS: [&str; 4] = ["Loopback", "Local", "NetKeyboard", "Console"];

type Reply = Response<Full<Bytes>>;

fn json_reply(v: Value) -> Reply {
    let mut r = Response::new(Full::new(Bytes::from(v.to_string())));
    r.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
    r
}

fn error(id: &Value, session: &Value, code: i64, message: &str, params: Value) -> Reply {
    let mut v = json!({"id": id, "result": false, "error": {"code": code, "message": message}, "session": session});
    if !params.is_null() {
        v["params"] = params;
    }
    json_reply(v)
}

/// A request body; session ids arrive as strings or numbers.
struct Call {
    method: String,
    params: Value,
    id: Value,
    session: Option<String>,
}

impl Call {
    fn parse(body: &[u8]) -> Option<Self> {
        let v: Value = serde_json::from_slice(body).ok()?;
        let session = match v.get("session") {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        Some(Call {
            method: v.get("method")?.as_str()?.to_owned(),
            params: v.get("params").cloned().unwrap_or(Value::Null),
            id: v.get("id").cloned().unwrap_or(json!(0)),
            session,
        })
    }

    fn param(&self, key: &str) -> Option<&str> {
        self.params.get(key).and_then(Value::as_str)
    }
}

/// Serve one POST on `/RPC2_Login` or `/RPC2`.
pub(crate) async fn handle(fw: &Arc<Firmware>, path: &str, body: &[u8]) -> Reply {
    let Some(call) = Call::parse(body) else {
        let mut r = error(&json!(0), &Value::Null, codes::INVALID_REQUEST, "Invalid request", Value::Null);
        *r.status_mut() = StatusCode::BAD_REQUEST;
        return r;
    };
    // Method only: params may hold passwords or hashes.
    tracing::debug!(serial = %fw.serial, path, method = %call.method, "RPC2 call");
    match (path, call.method.as_str()) {
        ("/RPC2_Login", "global.login") => login(fw, &call),
        ("/RPC2_Login", _) => error(&call.id, &Value::Null, codes::METHOD_NOT_FOUND, "Method not found", Value::Null),
        _ => session_call(fw, &call).await,
    }
}

fn login(fw: &Firmware, call: &Call) -> Reply {
    let user = call.param("userName").unwrap_or("");
    let password = call.param("password").unwrap_or("");
    let client_type = call.param("clientType").unwrap_or("");
    let login_type = call.param("loginType").unwrap_or("");

    if fw.has(Defect::Rpc2LoopbackBypass)
        && (LOOPBACK_CLIENTS.contains(&login_type) || LOOPBACK_CLIENTS.contains(&client_type))
    {
        // The firmware took "loopback"/"local" clients for processes on the box itself.
        let group = fw.ram().accounts.get(user).map(|a| a.group);
        if let Some(group) = group {
            let id = fw.ram().sessions.open_new(user, group);
            return json_reply(
                json!({"id": call.id, "result": true, "params": {"keepAliveInterval": 60}, "session": id}),
            );
        }
    }

    let pending = if password.is_empty() { None } else { fw.ram().sessions.take_random(call.session.as_deref(), user) };
    let Some((session, random)) = pending else {
        let (session, random) = fw.ram().sessions.challenge(user);
        let params = json!({
            "authorization": resetlab_wire::digest::md5_hex(&format!("{}:{random}", fw.serial)),
            "encryption": "Default",
            "mac": "3CEF8C000000",
            "random": random,
            "realm": fw.realm,
        });
        return error(&call.id, &json!(session), codes::LOGIN_CHALLENGE, "Component error: login challenge!", params);
    };
    let sent = password.to_ascii_uppercase();
    match fw.authenticate(Via::Rpc2, user, true, |pw| login_hash(user, &fw.realm, &random, pw) == sent) {
        Auth::Granted { user, group } => {
            let id = fw.ram().sessions.open(session, &user, group);
            json_reply(
                json!({"id": call.id, "result": true, "params": {"keepAliveInterval": fw.profile.sessions.rpc2_timeout_s}, "session": id}),
            )
        }
        Auth::Refused { left } => error(
            &call.id,
            &json!(session),
            codes::BAD_CREDENTIALS,
            "User or password not valid",
            json!({"remainLockSeconds": 0, "remainLoginTimes": left}),
        ),
        // RPC2 proofs carry no Digest nonce.
        Auth::Stale => {
            error(&call.id, &json!(session), codes::BAD_CREDENTIALS, "User or password not valid", Value::Null)
        }
        Auth::Locked { remaining_s } => error(
            &call.id,
            &json!(session),
            codes::LOCKED,
            "User has been locked!",
            json!({"remainLockSeconds": remaining_s, "remainLoginTimes": 0}),
        ),
    }
}

async fn session_call(fw: &Arc<Firmware>, call: &Call) -> Reply {
    let session_v = call.session.as_ref().map_or(Value::Null, |s| json!(s));
    let live = call.session.as_deref().and_then(|s| fw.ram().sessions.touch(s));
    let Some(s) = live else {
        return error(&call.id, &session_v, codes::INVALID_SESSION, "Invalid session in request data!", Value::Null);
    };
    let done = |params: Value| {
        let mut v = json!({"id": call.id, "result": true, "session": session_v});
        if !params.is_null() {
            v["params"] = params;
        }
        json_reply(v)
    };
    match call.method.as_str() {
        "global.keepAlive" => done(json!({"timeout": fw.profile.sessions.rpc2_timeout_s})),
        "global.logout" => {
            if let Some(id) = call.session.as_deref() {
                fw.ram().sessions.close(id);
            }
            done(Value::Null)
        }
        "userManager.modifyPassword" => {
            let (Some(name), Some(new)) = (call.param("name"), call.param("pwd")) else {
                return error(&call.id, &session_v, codes::INVALID_REQUEST, "Invalid request", Value::Null);
            };
            let by = Caller { user: s.user.clone(), group: s.group, session: call.session.clone() };
            match fw.change_password(&by, name, new, call.param("pwdOld")).await {
                Ok(()) => done(Value::Null),
                Err(e) => error(&call.id, &session_v, codes::REFUSED, &e.0, Value::Null),
            }
        }
        "userManager.getUserInfoAll" => {
            let users: Vec<Value> = fw
                .ram()
                .accounts
                .list()
                .iter()
                .enumerate()
                .map(|(i, a)| json!({"Id": i + 1, "Name": a.name, "Group": a.group.as_str(), "Reserved": a.reserved, "Sharable": a.sharable}))
                .collect();
            done(json!({"users": users}))
        }
        "magicBox.getSerialNo" => done(json!({"sn": fw.serial})),
        "magicBox.getDeviceType" => done(json!({"type": fw.profile.identity.device_type})),
        _ => error(&call.id, &session_v, codes::METHOD_NOT_FOUND, "Method not found", Value::Null),
    }
}
