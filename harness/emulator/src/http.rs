//! The port-80 HTTP server (hyper 1, HTTP/1.1, connections kept alive): routes `/cgi-bin/*` GETs to
//! the CGI, POSTs on `/RPC2_Login` and `/RPC2` to RPC2 and on `/onvif/*_service` to ONVIF. Every
//! answer waits the recorder's configured latency (`latency.rs`). The accept loop is hand-written
//! and owns every connection task, so aborting the loop (power off, link down) closes the listener
//! and all connections at once.

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use resetlab_profile::Interface;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::cgi::{Reply, text};
use crate::firmware::Firmware;

/// Largest RPC2 body the firmware reads.
const MAX_BODY: usize = 64 * 1024;

/// Accept and serve until aborted; dropping this future drops every connection.
pub(crate) async fn serve(listener: TcpListener, fw: Arc<Firmware>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(serial = %fw.serial, error = %e, "HTTP accept failed");
                        continue;
                    }
                };
                let fw = Arc::clone(&fw);
                conns.spawn(async move {
                    let svc = service_fn(move |req| {
                        let fw = Arc::clone(&fw);
                        async move { Ok::<_, Infallible>(fw.latency.around(route(&fw, req)).await) }
                    });
                    if let Err(e) = http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await {
                        tracing::debug!(%peer, error = %e, "HTTP connection ended with an error");
                    }
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn route(fw: &Arc<Firmware>, req: Request<Incoming>) -> Reply {
    let path = req.uri().path().to_owned();
    let (cgi, rpc2, onvif) =
        (fw.profile.has(Interface::Http), fw.profile.has(Interface::Rpc2), fw.profile.has(Interface::Onvif));
    match (req.method().clone(), path.as_str()) {
        (Method::POST, p) if onvif && crate::onvif::PATHS.contains(&p) => {
            let (parts, body) = req.into_parts();
            let body = match Limited::new(body, MAX_BODY).collect().await {
                Ok(b) => b.to_bytes(),
                Err(_) => {
                    return crate::onvif::soap::fault(
                        crate::onvif::soap::Code::Sender,
                        &["ter:WellFormed"],
                        "request too large",
                    );
                }
            };
            let head = Request::from_parts(parts, ());
            crate::onvif::handle(fw, crate::onvif::SoapRequest { head: &head, body: &body }).await
        }
        (Method::POST, "/RPC2_Login" | "/RPC2") if rpc2 => {
            let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
                Ok(b) => b.to_bytes(),
                Err(_) => {
                    return text(StatusCode::PAYLOAD_TOO_LARGE, "Error\r\nRequest too large\r\n");
                }
            };
            crate::rpc2::handle(fw, &path, &body).await
        }
        (Method::GET, p) if cgi && p.starts_with("/cgi-bin/") => crate::cgi::handle(fw, &req).await,
        (_, p)
            if (cgi && p.starts_with("/cgi-bin/"))
                || (rpc2 && p.starts_with("/RPC2"))
                || (onvif && crate::onvif::PATHS.contains(&p)) =>
        {
            text(StatusCode::METHOD_NOT_ALLOWED, "Error\r\nMethod Not Allowed\r\n")
        }
        _ => text(StatusCode::NOT_FOUND, "Error\r\nNot Found!\r\n"),
    }
}
