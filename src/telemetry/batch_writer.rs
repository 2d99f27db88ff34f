//! Where log lines go: emitters append each formatted line to one shared buffer, and one
//! background thread writes the buffer out in batches, as nginx's `access_log ... buffer=
//! flush=` does.
//!
//! Invariants:
//! - A line is written whole and in emission order; no line is dropped. When the writer
//!   falls [`BACKLOG_LIMIT`] bytes behind, emitters wait for it, as a synchronous writer
//!   always would.
//! - A line reaches the output at most [`FLUSH_INTERVAL`] after it was emitted (sooner once
//!   [`BATCH_BYTES`] are waiting), and every line is written before [`BatchGuard`]'s drop
//!   returns (the process flushes at shutdown).
//! - An emitter never makes a system call for a line, except to wake the idle writer for the
//!   first line of a batch or to hand over a full batch.
//!
//! The lock is `parking_lot`'s, which a panic cannot poison: no emitter panics on taking it.
//!
//! Not `tracing-appender`'s non-blocking writer: it hands each line to its thread through a
//! channel and that thread wakes, yields and writes once per line. On a busy proxy that is a
//! futex wake, a `sched_yield` and a `write` per request (`strace -c` while `wrk` runs hits),
//! a second thread's worth of kernel time on a 2-core machine.

use std::io::Write;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard};

/// The longest a line waits in memory before it is written.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(25);
/// A batch this large is written without waiting for the interval.
pub const BATCH_BYTES: usize = 64 * 1024;
/// Bytes waiting before emitters block until the writer catches up (about 40,000 lines).
pub const BACKLOG_LIMIT: usize = 8 * 1024 * 1024;

/// The emitters' end: a cheap handle (clone per event) that appends whole lines.
#[derive(Clone)]
pub struct BatchWriter {
    shared: Arc<Shared>,
}

/// Flushes every line still waiting and stops the writer thread when dropped.
#[must_use = "dropping the guard stops the log writer"]
pub struct BatchGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    /// The writer waits here for the first line, a full batch or the end.
    wake_writer: Condvar,
    /// Emitters wait here while the backlog is over its limit.
    drained: Condvar,
}

#[derive(Default)]
struct State {
    buf: Vec<u8>,
    emitters_waiting: usize,
    closed: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Not poisoned by a panic while held: that leaves only bytes in a Vec, still usable.
        self.state.lock()
    }
}

/// Starts the writer thread over `out`.
pub fn spawn(out: impl Write + Send + 'static) -> (BatchWriter, BatchGuard) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State::default()),
        wake_writer: Condvar::new(),
        drained: Condvar::new(),
    });
    let thread = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn({
            let shared = shared.clone();
            move || write_batches(&shared, out)
        })
        .expect("spawn the log writer thread");
    let guard = BatchGuard {
        shared: shared.clone(),
        thread: Some(thread),
    };
    (BatchWriter { shared }, guard)
}

impl BatchWriter {
    /// Appends one whole line (or several), waiting only while the backlog is over its limit.
    pub fn append(&self, line: &[u8]) {
        let shared = &*self.shared;
        let mut st = shared.lock();
        while st.buf.len() >= BACKLOG_LIMIT && !st.closed {
            st.emitters_waiting += 1;
            shared.drained.wait(&mut st);
            st.emitters_waiting -= 1;
        }
        let before = st.buf.len();
        st.buf.extend_from_slice(line);
        // Only two moments need the writer: the first line of a batch (it may be asleep
        // with nothing to do) and a batch growing full. Any other notify is a wasted syscall.
        if before == 0 || (before < BATCH_BYTES && st.buf.len() >= BATCH_BYTES) {
            shared.wake_writer.notify_one();
        }
    }
}

impl Write for BatchWriter {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        self.append(line);
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BatchWriter {
    type Writer = BatchWriter;
    fn make_writer(&'a self) -> BatchWriter {
        self.clone()
    }
}

/// The writer thread: sleep until a line arrives, let the batch gather for up to
/// [`FLUSH_INTERVAL`], write it outside the lock, repeat; after the close, write what is left.
fn write_batches(shared: &Shared, mut out: impl Write) {
    let mut spare = Vec::with_capacity(BATCH_BYTES);
    let mut st = shared.lock();
    loop {
        while st.buf.is_empty() && !st.closed {
            shared.wake_writer.wait(&mut st);
        }
        let deadline = Instant::now() + FLUSH_INTERVAL;
        while st.buf.len() < BATCH_BYTES && !st.closed {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            shared.wake_writer.wait_for(&mut st, left);
        }
        let batch = std::mem::replace(&mut st.buf, spare);
        let closing = st.closed;
        if st.emitters_waiting > 0 {
            shared.drained.notify_all();
        }
        drop(st);
        // Nowhere to report a failed write of the log itself; the next batch tries again.
        let _ = out.write_all(&batch).and_then(|()| out.flush());
        spare = batch;
        spare.clear();
        st = shared.lock();
        if closing && st.buf.is_empty() {
            return;
        }
    }
}

impl Drop for BatchGuard {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.wake_writer.notify_one();
        self.shared.drained.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An output the test can read while the writer thread owns its clone.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_from_every_thread_is_written_whole_by_the_time_the_guard_drops() {
        let sink = Sink::default();
        let (writer, guard) = spawn(sink.clone());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let mut w = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..20_000 {
                        w.write_all(format!("thread {t} line {i}\n").as_bytes())
                            .unwrap();
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        drop(guard);
        let text = String::from_utf8(sink.0.lock().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 80_000);
        for t in 0..4 {
            let prefix = format!("thread {t} line ");
            let own: Vec<usize> = lines
                .iter()
                .filter_map(|l| l.strip_prefix(&prefix))
                .map(|n| n.parse().unwrap())
                .collect();
            assert_eq!(own, (0..20_000).collect::<Vec<_>>(), "thread {t} in order");
        }
    }

    #[test]
    fn a_lone_line_is_written_without_waiting_for_a_full_batch() {
        let sink = Sink::default();
        let (mut writer, _guard) = spawn(sink.clone());
        writer.write_all(b"one line\n").unwrap();
        // Polls for far longer than the flush interval; the guard is still alive.
        let written = (0..400).any(|_| {
            std::thread::sleep(Duration::from_millis(5));
            sink.0.lock().as_slice() == b"one line\n"
        });
        assert!(written, "the line was not written while the writer ran");
    }
}
