//! What stops a batch: the dispatcher's abandon, or the batch's own stop.

use tokio::sync::watch;

/// What stops a batch from sending and hands its payloads back: the dispatcher's
/// [`abandon`](crate::Dispatcher::abandon), until a flush returns, or the batch's own stop (a
/// [`Scope`](crate::Scope) whose time ran out).
#[derive(Clone, Copy)]
pub(crate) struct Stop<'a> {
    pub(crate) dispatcher: &'a watch::Sender<bool>,
    pub(crate) batch: &'a watch::Sender<bool>,
}

impl Stop<'_> {
    pub(crate) fn is_set(&self) -> bool {
        *self.dispatcher.borrow() || *self.batch.borrow()
    }

    /// Returns once either stop is set.
    pub(crate) async fn wait(&self) {
        let mut dispatcher = self.dispatcher.subscribe();
        let mut batch = self.batch.subscribe();
        // The senders outlive this future: `wait_for` cannot fail.
        tokio::select! {
            _ = dispatcher.wait_for(|stop| *stop) => {}
            _ = batch.wait_for(|stop| *stop) => {}
        }
    }
}
