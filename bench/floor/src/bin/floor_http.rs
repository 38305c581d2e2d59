//! The HTTP floor: the least a Rust HTTP/1.1 server can do per request on this machine.
//! hyper 1 + tokio with 2 worker threads; reads the whole request body, then answers every
//! request (any method, any path) with the same ~300-byte JSON body.
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

async fn answer(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    // Read the body like any real server must; ignore errors (the client went away).
    let _ = req.into_body().collect().await;
    let mut resp = Response::new(Full::new(Bytes::from_static(BODY.as_bytes())));
    resp.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json"));
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
