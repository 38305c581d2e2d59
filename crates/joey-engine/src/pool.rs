//! The engine's own worker threads, and the per-model pool of ORT sessions.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard};
use std::thread;

use ort::session::Session;

use crate::EngineError;

type Job = Box<dyn FnOnce() + Send + 'static>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A fixed set of dedicated OS threads (not tokio's blocking pool) that run heavy inference calls.
/// Threads exit when the pool is dropped and the queue is drained.
pub(crate) struct WorkerPool {
    tx: mpsc::Sender<Job>,
    threads: usize,
}

impl WorkerPool {
    pub(crate) fn new(threads: usize) -> Result<WorkerPool, EngineError> {
        let threads = threads.max(1);
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = rx.clone();
            thread::Builder::new()
                .name(format!("joey-engine-{i}"))
                .spawn(move || loop {
                    let job = match lock(&rx).recv() {
                        Ok(job) => job,
                        Err(_) => break,
                    };
                    // A panicking job drops its result sender; the caller sees a Runtime error.
                    if catch_unwind(AssertUnwindSafe(job)).is_err() {
                        tracing::error!("joey-engine worker: inference job panicked");
                    }
                })
                .map_err(|e| {
                    EngineError::Runtime(format!("cannot start engine worker thread: {e}"))
                })?;
        }
        Ok(WorkerPool { tx, threads })
    }

    pub(crate) fn threads(&self) -> usize {
        self.threads
    }

    pub(crate) fn execute(&self, job: Job) -> Result<(), EngineError> {
        self.tx
            .send(job)
            .map_err(|_| EngineError::Runtime("the engine's worker threads have stopped".into()))
    }
}

/// A small set of sessions of one model; `Session::run` needs `&mut`, so each call takes one out.
pub(crate) struct SessionPool {
    idle: Mutex<Vec<Session>>,
    returned: Condvar,
    size: usize,
}

impl SessionPool {
    pub(crate) fn new(sessions: Vec<Session>) -> SessionPool {
        let size = sessions.len();
        SessionPool {
            idle: Mutex::new(sessions),
            returned: Condvar::new(),
            size,
        }
    }

    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// Run `f` with exclusive use of one session, waiting for one to be free if needed.
    pub(crate) fn with_session<R>(&self, f: impl FnOnce(&mut Session) -> R) -> R {
        let session = {
            let mut idle = lock(&self.idle);
            loop {
                if let Some(s) = idle.pop() {
                    break s;
                }
                idle = self.returned.wait(idle).unwrap_or_else(|e| e.into_inner());
            }
        };
        // Give the session back even if `f` panics.
        let mut guard = Checkout {
            pool: self,
            session: Some(session),
        };
        let s = guard.session.as_mut().expect("session present");
        f(s)
    }
}

struct Checkout<'a> {
    pool: &'a SessionPool,
    session: Option<Session>,
}

impl Drop for Checkout<'_> {
    fn drop(&mut self) {
        if let Some(s) = self.session.take() {
            lock(&self.pool.idle).push(s);
            self.pool.returned.notify_one();
        }
    }
}
