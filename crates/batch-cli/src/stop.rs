//! Stopping early: on SIGINT or SIGTERM, or when the destination fails every request. Reading
//! stops at once; sending goes on for the grace time, or until a second signal, and then
//! the dispatcher abandons what it holds, so it comes back as unprocessed.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::sink::Sink;

/// A signal that stops the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    Interrupt,
    Terminate,
}

impl Signal {
    /// 128 plus the signal's number, as shells report a process ended by it.
    pub(crate) fn exit_code(self) -> u8 {
        match self {
            Self::Interrupt => 130,
            Self::Terminate => 143,
        }
    }
}

/// Why reading stopped before the end of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    Signal(Signal),
    /// This many requests in a row failed as a whole.
    DestinationFailing(u64),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Signal(Signal::Interrupt) => f.write_str("interrupted (SIGINT)"),
            Self::Signal(Signal::Terminate) => f.write_str("terminated (SIGTERM)"),
            Self::DestinationFailing(n) => {
                write!(f, "the destination failed {n} requests in a row")
            }
        }
    }
}

/// The stop state one run shares with its signal handler.
#[derive(Debug)]
pub(crate) struct Stop {
    reason: watch::Sender<Option<(Reason, Instant)>>,
    /// Set by a second signal: abandon at once.
    hurry: watch::Sender<bool>,
    grace: Duration,
}

impl Stop {
    /// Takes over SIGINT and SIGTERM for the rest of the run.
    pub(crate) fn listen(grace: Duration) -> std::io::Result<Self> {
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let stop = Self {
            reason: watch::Sender::new(None),
            hurry: watch::Sender::new(false),
            grace,
        };
        let reason = stop.reason.clone();
        let hurry = stop.hurry.clone();
        tokio::spawn(async move {
            let first = tokio::select! {
                _ = interrupt.recv() => Signal::Interrupt,
                _ = terminate.recv() => Signal::Terminate,
            };
            let already_stopping = !set_reason(&reason, Reason::Signal(first));
            if already_stopping {
                tracing::warn!("signal received while stopping: stopping at once");
                hurry.send_replace(true);
                return;
            }
            tracing::warn!(
                "{}: reading stopped; sending what was accepted for up to {:?} \
                 (a second signal stops at once)",
                Reason::Signal(first),
                grace
            );
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            tracing::warn!("second signal: stopping at once");
            hurry.send_replace(true);
        });
        Ok(stop)
    }

    /// Why the run is stopping, if it is.
    pub(crate) fn reason(&self) -> Option<Reason> {
        self.reason.borrow().map(|(reason, _)| reason)
    }

    /// Stops reading for `reason`, unless the run is stopping already.
    pub(crate) fn request(&self, reason: Reason) {
        set_reason(&self.reason, reason);
    }

    /// Returns once the run is stopping.
    pub(crate) async fn requested(&self) {
        let mut reason = self.reason.subscribe();
        // The sender lives in `self`: `wait_for` cannot fail.
        let _ = reason.wait_for(Option::is_some).await;
    }

    /// Returns once sending must end: the grace time after the stop has passed, or a second
    /// signal came.
    async fn expired(&self) {
        let mut reason = self.reason.subscribe();
        let since = reason
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|r| r.map(|(_, at)| at))
            .unwrap_or_else(Instant::now);
        let mut hurry = self.hurry.subscribe();
        tokio::select! {
            () = tokio::time::sleep_until(since + self.grace) => {}
            _ = hurry.wait_for(|hurry| *hurry) => {}
        }
    }

    /// Runs `work` (a submit or a flush) to its end; should sending have to end meanwhile,
    /// tells the dispatcher to abandon what it holds, so `work` ends promptly.
    pub(crate) async fn guard<T>(&self, sink: &dyn Sink, work: impl Future<Output = T>) -> T {
        tokio::pin!(work);
        let mut abandoned = false;
        loop {
            tokio::select! {
                biased;
                out = &mut work => return out,
                () = self.expired(), if !abandoned => {
                    tracing::warn!("handing back what is still in flight");
                    sink.abandon();
                    abandoned = true;
                }
            }
        }
    }
}

/// Sets the reason unless one is set; whether it did.
fn set_reason(sender: &watch::Sender<Option<(Reason, Instant)>>, reason: Reason) -> bool {
    sender.send_if_modified(|current| {
        if current.is_some() {
            return false;
        }
        *current = Some((reason, Instant::now()));
        true
    })
}
