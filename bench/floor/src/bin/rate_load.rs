//! Open-loop (constant-rate) HTTP/1.1 POST load generator, free of coordinated omission.
//! Request i of a phase is *intended* at t0 + i/rate; its latency runs from that intended time to
//! the end of the response body, so time spent waiting for a free connection (all busy) counts.
//! A ticker thread (precise std sleeps) publishes how many requests are due; one current-thread
//! tokio runtime dispatches them over N persistent keep-alive connections. Warmup is a separate,
//! unrecorded phase at the same rate; the measured phase starts its own schedule when it ends.
//! Prints one JSON line on stdout. Usage: rate-load --help

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{handshake, SendRequest};
use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, HOST};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Notify};

const USAGE: &str = "usage: rate-load --url http://HOST:PORT/PATH --rate REQ_PER_S --duration SECS --body-file FILE
                 [--connections N (32)] [--content-type CT (application/json)]
                 [--header 'Name: value']... [--warmup SECS (0)]";

type Conn = SendRequest<Full<Bytes>>;
type Pool = mpsc::UnboundedSender<Option<Conn>>;

struct Target { host: String, port: u16, uri: Uri, headers: HeaderMap, body: Bytes }

#[derive(Default)]
struct Stats { lat_ns: Vec<u64>, ok: u64, err: u64, inflight: u64 }

fn die(msg: &str) -> ! {
    eprintln!("rate-load: {msg}\n{USAGE}");
    std::process::exit(2)
}

fn num<T: std::str::FromStr>(flag: &str, v: &str) -> T {
    v.parse().unwrap_or_else(|_| die(&format!("{flag}: not a valid number: {v:?}")))
}

async fn connect(t: &Target) -> std::io::Result<Conn> {
    let stream = TcpStream::connect((t.host.as_str(), t.port)).await?;
    stream.set_nodelay(true)?;
    let (send, conn) = handshake(TokioIo::new(stream)).await.map_err(std::io::Error::other)?;
    tokio::spawn(conn); // drives the connection; ends when it closes
    Ok(send)
}

fn request(t: &Target) -> Request<Full<Bytes>> {
    let mut req = Request::new(Full::new(t.body.clone()));
    *req.method_mut() = Method::POST;
    *req.uri_mut() = t.uri.clone();
    *req.headers_mut() = t.headers.clone();
    req
}

/// Sends one request on `send`, records it if `stats` is given, hands the connection (or a fresh
/// one if it broke; None if that fails too) back to the pool.
async fn one(mut send: Conn, intended: Instant, t: Arc<Target>, stats: Option<Arc<Mutex<Stats>>>, pool: Pool) {
    let res = async {
        send.ready().await?;
        let resp = send.send_request(request(&t)).await?;
        let good = resp.status().is_success();
        let mut body = resp.into_body();
        while let Some(frame) = body.frame().await {
            frame?;
        }
        Ok::<bool, hyper::Error>(good)
    }
    .await;
    let lat = intended.elapsed().as_nanos() as u64;
    if let Some(st) = stats {
        let mut st = st.lock().unwrap();
        st.inflight -= 1;
        match res {
            Ok(true) => { st.ok += 1; st.lat_ns.push(lat); }
            _ => st.err += 1,
        }
    }
    let back = if res.is_err() || send.is_closed() { connect(&t).await.ok() } else { Some(send) };
    let _ = pool.send(back);
}

/// Publishes `due` = how many of the `total` requests have reached their intended time.
fn ticker(t0: Instant, rate: f64, total: u64, due: Arc<AtomicU64>, notify: Arc<Notify>) {
    let mut published = 0;
    loop {
        let el = Instant::now().saturating_duration_since(t0).as_secs_f64();
        let d = ((el * rate).floor() as u64 + 1).min(total);
        if d > published {
            due.store(d, Ordering::Release);
            notify.notify_one();
            published = d;
        }
        if d >= total { return; }
        let next = t0 + Duration::from_secs_f64(d as f64 / rate);
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
}

struct Phase { sent: u64, unsent: u64, behind: Duration }

/// Runs one schedule of `secs` at `rate`; `live` counts connections that still exist.
async fn phase(rate: f64, secs: f64, t: &Arc<Target>, stats: Option<Arc<Mutex<Stats>>>,
               pool: &Pool, idle: &mut mpsc::UnboundedReceiver<Option<Conn>>, live: &mut usize) -> Phase {
    let total = (secs * rate).ceil().max(1.0) as u64;
    let t0 = Instant::now();
    let stop = t0 + Duration::from_secs_f64(secs) + Duration::from_millis(20);
    let (due, notify) = (Arc::new(AtomicU64::new(0)), Arc::new(Notify::new()));
    let (d2, n2) = (due.clone(), notify.clone());
    std::thread::spawn(move || ticker(t0, rate, total, d2, n2));
    let (mut i, mut behind, mut backlog_until) = (0u64, Duration::ZERO, t0);
    while i < total && *live > 0 && Instant::now() < stop {
        if i >= due.load(Ordering::Acquire) {
            notify.notified().await;
            continue;
        }
        let intended = t0 + Duration::from_secs_f64(i as f64 / rate);
        let conn = match idle.try_recv() {
            Ok(c) => c,
            Err(_) => match tokio::time::timeout_at(stop.into(), idle.recv()).await {
                Ok(c) => { backlog_until = Instant::now(); c.flatten() }
                Err(_) => break, // every connection still busy at the end of the phase
            },
        };
        let Some(conn) = conn else { *live -= 1; continue };
        // The generator's own lateness: only when a connection was free and no backlog was pending.
        if intended >= backlog_until { behind = behind.max(intended.elapsed()); }
        if let Some(st) = &stats { st.lock().unwrap().inflight += 1; }
        tokio::spawn(one(conn, intended, t.clone(), stats.clone(), pool.clone()));
        i += 1;
    }
    Phase { sent: i, unsent: total - i, behind }
}

fn main() {
    let (mut url, mut rate, mut duration, mut body_file) = (None, None, None, None);
    let (mut conns, mut warmup, mut ctype) = (32usize, 0f64, "application/json".to_string());
    let mut extra: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "-h" || a == "--help" { println!("{USAGE}"); return; }
        let (flag, val) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), v.to_string()),
            _ => { let v = args.next().unwrap_or_else(|| die(&format!("{a}: missing value"))); (a, v) }
        };
        match flag.as_str() {
            "--url" => url = Some(val),
            "--rate" => rate = Some(num::<f64>(&flag, &val)),
            "--duration" => duration = Some(num::<f64>(&flag, &val)),
            "--connections" => conns = num(&flag, &val),
            "--body-file" => body_file = Some(val),
            "--content-type" => ctype = val,
            "--header" => extra.push(val),
            "--warmup" => warmup = num(&flag, &val),
            _ => die(&format!("unknown argument {flag:?}")),
        }
    }
    let url = url.unwrap_or_else(|| die("--url is required"));
    let rate = rate.unwrap_or_else(|| die("--rate is required"));
    let duration = duration.unwrap_or_else(|| die("--duration is required"));
    let body_file = body_file.unwrap_or_else(|| die("--body-file is required"));
    if !(rate.is_finite() && rate > 0.0) { die("--rate must be > 0"); }
    if !(duration.is_finite() && duration > 0.0) { die("--duration must be > 0"); }
    if !(warmup.is_finite() && warmup >= 0.0) { die("--warmup must be >= 0"); }
    if conns == 0 { die("--connections must be >= 1"); }
    let uri: Uri = url.parse().unwrap_or_else(|e| die(&format!("--url {url:?}: {e}")));
    if uri.scheme_str() != Some("http") { die("--url must start with http:// (no TLS)"); }
    let host = uri.host().unwrap_or_else(|| die("--url has no host")).trim_matches(['[', ']']).to_string();
    let port = uri.port_u16().unwrap_or(80);
    let body = std::fs::read(&body_file).unwrap_or_else(|e| die(&format!("--body-file {body_file:?}: {e}")));
    let mut headers = HeaderMap::new();
    headers.insert(HOST, HeaderValue::from_str(uri.authority().unwrap().as_str()).unwrap());
    headers.insert(CONTENT_TYPE, HeaderValue::from_str(&ctype).unwrap_or_else(|_| die("bad --content-type")));
    for h in &extra {
        let (n, v) = h.split_once(':').unwrap_or_else(|| die(&format!("--header {h:?}: expected 'Name: value'")));
        let n = HeaderName::from_bytes(n.trim().as_bytes()).unwrap_or_else(|_| die(&format!("bad header name in {h:?}")));
        let v = HeaderValue::from_str(v.trim()).unwrap_or_else(|_| die(&format!("bad header value in {h:?}")));
        headers.append(n, v);
    }
    let uri = Uri::from(uri.path_and_query().cloned().unwrap_or_else(|| "/".parse().unwrap()));
    let t = Arc::new(Target { host, port, uri, headers, body: Bytes::from(body) });

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let code = rt.block_on(async move {
        let (pool, mut idle) = mpsc::unbounded_channel();
        for _ in 0..conns {
            match connect(&t).await {
                Ok(c) => pool.send(Some(c)).unwrap(),
                Err(e) => { eprintln!("rate-load: cannot connect to {url}: {e}"); return 1; }
            }
        }
        let mut live = conns;
        if warmup > 0.0 { phase(rate, warmup, &t, None, &pool, &mut idle, &mut live).await; }
        let stats = Arc::new(Mutex::new(Stats::default()));
        let start = Instant::now();
        let p = phase(rate, duration, &t, Some(stats.clone()), &pool, &mut idle, &mut live).await;
        // Drain: wait (up to 10 s) for the measured requests still in flight.
        let drain_end = Instant::now() + Duration::from_secs(10);
        while stats.lock().unwrap().inflight > 0 && Instant::now() < drain_end {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let elapsed = start.elapsed().as_secs_f64();
        let mut st = stats.lock().unwrap();
        if st.inflight > 0 { eprintln!("rate-load: {} requests unanswered after 10 s drain, counted as errors", st.inflight); }
        if live == 0 { eprintln!("rate-load: every connection was lost (server gone?)"); }
        let errors = st.err + st.inflight;
        st.lat_ns.sort_unstable();
        let v = &st.lat_ns;
        let pct = |q: f64| match v.len() {
            0 => "null".to_string(),
            n => format!("{:.3}", v[((q * n as f64).ceil() as usize).clamp(1, n) - 1] as f64 / 1e6),
        };
        println!(
            "{{\"rate_target\":{rate},\"rate_achieved\":{:.1},\"sent\":{},\"completed\":{},\"errors\":{errors},\"unsent\":{},\
             \"p50_ms\":{},\"p90_ms\":{},\"p99_ms\":{},\"p999_ms\":{},\"max_ms\":{},\"behind_ms\":{:.3},\"elapsed_s\":{elapsed:.3}}}",
            st.ok as f64 / duration, p.sent, st.ok, p.unsent,
            pct(0.5), pct(0.9), pct(0.99), pct(0.999), pct(1.0), p.behind.as_secs_f64() * 1e3
        );
        if live == 0 { 1 } else { 0 }
    });
    std::process::exit(code);
}
