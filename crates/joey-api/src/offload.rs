//! Work that takes milliseconds (decoding a big body, printing a big answer, reading a log page)
//! runs on tokio's blocking pool, so it never stalls the workers that serve small requests.

use std::future::Future;

use joey_core::Error;

/// Starts `work` on the blocking pool at once (before the returned future is first polled, so
/// several can run side by side) and resolves to its result. A panic in `work` becomes an
/// internal error.
pub(crate) fn off_runtime<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> impl Future<Output = Result<T, Error>> {
    let task = tokio::task::spawn_blocking(work);
    async move { task.await.map_err(|e| Error::internal(format!("background task failed: {e}"))) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    /// On a one-thread runtime, async tasks keep running while the work runs: the work waits
    /// for a message that only another async task sends (run inline, it would wait forever).
    #[tokio::test(flavor = "current_thread")]
    async fn other_tasks_run_while_the_work_runs() {
        let (tx, rx) = mpsc::channel::<&str>();
        let work = off_runtime(move || rx.recv_timeout(Duration::from_secs(30)));
        let other = tokio::spawn(async move { tx.send("from the runtime thread").unwrap() });
        assert_eq!(work.await.unwrap(), Ok("from the runtime thread"));
        other.await.unwrap();
    }

    #[tokio::test(flavor = "current_thread")]
    async fn started_before_polled_and_panics_become_errors() {
        let (tx, rx) = mpsc::channel();
        let work = off_runtime(move || tx.send(1).unwrap());
        // Not polled yet, and already running.
        assert_eq!(rx.recv_timeout(Duration::from_secs(30)), Ok(1));
        work.await.unwrap();
        let err = off_runtime(|| -> u8 { panic!("boom") }).await.unwrap_err();
        assert!(err.to_string().contains("background task failed"), "{err}");
    }
}
