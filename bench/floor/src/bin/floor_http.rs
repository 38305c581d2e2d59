//! The HTTP floor: the least a Rust HTTP/1.1 server can do per request on this machine.
//! hyper 1 + tokio with 2 worker threads; reads the whole request body, then answers every
//! request with the same ~300-byte JSON body; or, on `/bytes/<n>`, with `n` bytes (at most
//! 32 MiB, sliced from one buffer made at start, so no per-request copy): the *transfer floor*
//! of a batch workload, moving the bytes Joey's answer has.
//!
//! Usage: floor-http <port>        (listens on 127.0.0.1 only)

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// Shaped like Joey's answer to one ccfraud row, minus the echoed input.
const BODY: &str = concat!(
    r#"[{"time":1764322000000,"out":{"dense_1":[0.0010916889]},"anomaly":{"count":0},"#,
    r#""metadata":{"last_model":"{\"model_name\":\"ccfraud\",\"model_sha\":\"bc85ce596945f876256f41515c7501c399fd97ebcb9ab3dd41bf03f8937b4507\"}","#,
    r#""pipeline_version":"00000000-0000-0000-0000-000000000000","elapsed":[21000,3100],"dropped":[],"partition":"floor"}}]"#
);

/// The largest `/bytes/<n>` answer.
const MAX_BYTES: usize = 32 << 20;
static BYTES: std::sync::OnceLock<Bytes> = std::sync::OnceLock::new();

async fn answer(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let sized = req.uri().path().strip_prefix("/bytes/").and_then(|n| n.parse::<usize>().ok());
    // Read the body like any real server must; ignore errors (the client went away).
    let _ = req.into_body().collect().await;
    let (body, ctype) = match sized {
        Some(n) => (BYTES.get_or_init(|| Bytes::from(vec![b'x'; MAX_BYTES])).slice(..n.min(MAX_BYTES)), "application/octet-stream"),
        None => (Bytes::from_static(BODY.as_bytes()), "application/json"),
    };
    let mut resp = Response::new(Full::new(body));
    resp.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static(ctype));
    Ok(resp)
}

fn main() {
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).unwrap_or(8099);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime");
    rt.block_on(async move {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let listener = TcpListener::bind(addr).await.expect("bind");
        eprintln!("floor-http listening on {addr}");
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(s) => s,
                Err(_) => continue,
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service_fn(answer)).await;
            });
        }
    });
}
