//! Where a guest's stdout, stderr and `log` calls go: lines in memory,
//! stamped with virtual time, charged to the node whose code runs, under
//! one byte budget per node. Past the budget a write traps, so a log flood
//! stops the node instead of the host. Each node has its own unfinished
//! lines, so nodes sharing an instance never mix their partial lines.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};

use crate::runtime::{LogLevel, LogLine, LogStream};

/// Message of the trap raised when the budget runs out; matched to report
/// [`FaultKind::LogLimit`](crate::runtime::FaultKind::LogLimit).
pub const LOG_LIMIT_TRAP: &str = "xedgesim: log byte budget exhausted";

/// What every log line costs against the budget on top of its text: a
/// trace line costs about this much however short its text, so a loop of
/// empty lines runs out of budget as a loop of long ones does.
pub const LINE_COST: usize = 64;

/// How many bytes of stderr a fault report quotes.
const STDERR_TAIL_BYTES: usize = 600;

/// One node's log account.
#[derive(Debug, Default, Clone)]
struct Account {
    budget_left: u64,
    exhausted: bool,
}

#[derive(Debug, Default)]
struct Buffer {
    lines: Vec<LogLine>,
    /// By node index in the store.
    accounts: Vec<Account>,
    /// Unfinished lines by (node index, 0 for stdout or 1 for stderr), and
    /// when each was last written to: a flushed line is stamped then,
    /// whenever the flush happens. Only the nodes that have one: most of a
    /// million packed nodes never do.
    partial: BTreeMap<StreamKey, PartialLine>,
    /// The last bytes written to stderr by the running node, for fault reports.
    stderr_tail: Vec<u8>,
    /// Which node of the store is running, and at what time.
    index: usize,
    time_us: u64,
}

/// The shared log of one store.
/// A node's stream: (node index, 0 for stdout or 1 for stderr).
type StreamKey = (usize, usize);

/// An unfinished line: its bytes so far, and when it was last written to (virtual µs).
type PartialLine = (Vec<u8>, u64);

#[derive(Debug, Clone, Default)]
pub struct LogSink(Arc<Mutex<Buffer>>);

/// What a store's log held for some of its nodes at one point, to go
/// back to ([`LogSink::rewind`]): a pack's lane undoes a call one instance
/// would never have made (`lanes.rs`).
#[derive(Debug, Default)]
pub struct LogMark {
    lines: usize,
    accounts: Vec<(usize, Account)>,
    /// Each of those nodes' unfinished lines (stdout, stderr), or none.
    partial: Vec<(StreamKey, Option<PartialLine>)>,
}

impl LogSink {
    /// Room for `nodes` more accounts.
    pub fn reserve(&self, nodes: usize) {
        self.lock().accounts.reserve_exact(nodes);
    }

    /// Opens an account of `max_bytes` for the next node.
    pub fn add_node(&self, max_bytes: u64) {
        self.lock().accounts.push(Account { budget_left: max_bytes, ..Account::default() });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Buffer> {
        // A panic while holding the lock leaves only log lines behind: keep going.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Attributes what is written from now on to node `index` at `time_us`.
    pub fn enter(&self, index: usize, time_us: u64) {
        let mut b = self.lock();
        b.stderr_tail.clear();
        b.index = index;
        b.time_us = time_us;
    }

    /// Charges `len` bytes to the running node; false once its budget is gone.
    fn charge(b: &mut Buffer, len: usize) -> bool {
        let index = b.index;
        let Some(account) = b.accounts.get_mut(index) else { return false };
        if account.exhausted || len as u64 > account.budget_left {
            account.exhausted = true;
            return false;
        }
        account.budget_left -= len as u64;
        true
    }

    /// Records a `log` call; false when the budget is exhausted.
    pub fn log(&self, level: LogLevel, text: &str) -> bool {
        let mut b = self.lock();
        if !Self::charge(&mut b, text.len() + LINE_COST) {
            return false;
        }
        let line =
            LogLine { index: b.index, time_us: b.time_us, stream: LogStream::Log, level, text: text.to_string() };
        b.lines.push(line);
        true
    }

    fn write(&self, stream: LogStream, bytes: &[u8]) -> bool {
        let mut b = self.lock();
        if !Self::charge(&mut b, bytes.len()) {
            return false;
        }
        let slot = usize::from(stream == LogStream::Stderr);
        if stream == LogStream::Stderr {
            b.stderr_tail.extend_from_slice(bytes);
            let excess = b.stderr_tail.len().saturating_sub(STDERR_TAIL_BYTES);
            b.stderr_tail.drain(..excess);
        }
        let index = b.index;
        let time_us = b.time_us;
        let (mut partial, _) = b.partial.remove(&(index, slot)).unwrap_or_default();
        partial.extend_from_slice(bytes);
        let mut charged = true;
        while let Some(end) = partial.iter().position(|&c| c == b'\n') {
            if !Self::charge(&mut b, LINE_COST) {
                charged = false;
                break;
            }
            let raw: Vec<u8> = partial.drain(..=end).collect();
            Self::push_line(&mut b, index, time_us, stream, &raw[..end]);
        }
        if !partial.is_empty() {
            b.partial.insert((index, slot), (partial, time_us));
        }
        charged
    }

    fn push_line(b: &mut Buffer, index: usize, time_us: u64, stream: LogStream, raw: &[u8]) {
        let level = if stream == LogStream::Stderr { LogLevel::Warn } else { LogLevel::Info };
        let text = String::from_utf8_lossy(raw).into_owned();
        b.lines.push(LogLine { index, time_us, stream, level, text });
    }

    /// Lines completed since the last call; with `flush`, every node's
    /// unfinished lines too (in node order, each stamped with the time it
    /// was last written to, so packing cannot change it).
    pub fn take(&self, flush: bool) -> Vec<LogLine> {
        let mut b = self.lock();
        if flush {
            for ((index, slot), (raw, time_us)) in std::mem::take(&mut b.partial) {
                let stream = if slot == 0 { LogStream::Stdout } else { LogStream::Stderr };
                Self::push_line(&mut b, index, time_us, stream, &raw);
            }
        }
        std::mem::take(&mut b.lines)
    }

    /// The log as it is now for the nodes of `indexes`.
    pub fn mark(&self, indexes: impl Iterator<Item = usize>) -> LogMark {
        let b = self.lock();
        let accounts: Vec<(usize, Account)> = indexes.filter_map(|i| Some((i, b.accounts.get(i)?.clone()))).collect();
        let partial = accounts
            .iter()
            .flat_map(|&(i, _)| [(i, 0), (i, 1)])
            .map(|key| (key, b.partial.get(&key).cloned()))
            .collect();
        LogMark { lines: b.lines.len(), accounts, partial }
    }

    /// Back to `mark`: the lines written since are gone, and those nodes'
    /// unfinished lines and budgets are as they were.
    pub fn rewind(&self, mark: LogMark) {
        let mut b = self.lock();
        b.lines.truncate(mark.lines);
        for (index, account) in mark.accounts {
            b.accounts[index] = account;
        }
        for (key, partial) in mark.partial {
            match partial {
                Some(partial) => b.partial.insert(key, partial),
                None => b.partial.remove(&key),
            };
        }
    }

    /// Whether node `index` has used up its log budget.
    pub fn exhausted(&self, index: usize) -> bool {
        self.lock().accounts.get(index).is_some_and(|a| a.exhausted)
    }

    /// The end of what the running node wrote to stderr in this call.
    pub fn stderr_tail(&self) -> String {
        String::from_utf8_lossy(&self.lock().stderr_tail).trim_end().to_string()
    }

    /// The guest's stdout or stderr, as WASI sees it.
    pub fn stream(&self, stream: LogStream) -> LogWriter {
        LogWriter { sink: self.clone(), stream }
    }
}

/// One of a guest's output streams.
#[derive(Debug, Clone)]
pub struct LogWriter {
    sink: LogSink,
    stream: LogStream,
}

impl IsTerminal for LogWriter {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogWriter {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LogWriter {
    async fn ready(&mut self) {}
}

impl OutputStream for LogWriter {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        if self.sink.write(self.stream, &bytes) { Ok(()) } else { Err(StreamError::trap(LOG_LIMIT_TRAP)) }
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

impl tokio::io::AsyncWrite for LogWriter {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        if self.sink.write(self.stream, buf) {
            Poll::Ready(Ok(buf.len()))
        } else {
            Poll::Ready(Err(std::io::Error::other(LOG_LIMIT_TRAP)))
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
