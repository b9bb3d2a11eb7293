//! A lone batch's task, kept where the caller that sealed it can run it.
//!
//! A batch sealed while no other is out is polled first by the sealing caller, then parked
//! here instead of going to the runtime. While a caller waits in the dispatcher (for a
//! request slot, or in a flush), it polls the parked task whenever the task is woken, so
//! the answer is read and the batch's memory freed on the thread that made it, as in a
//! hand-written loop. A task woken while no caller waits goes to the runtime at once, and
//! so does one a waiting caller leaves woken (it was dropped, or its wait ended): a parked
//! task never waits for a caller, and a caller dropped mid-request loses nothing.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Wake, Waker};

use tokio::runtime::RuntimeFlavor;

type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The slot of at most one parked task.
#[derive(Default)]
pub(crate) struct Parked {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// The parked task; `None` while a caller polls it, or once it went to the runtime.
    task: Option<Task>,
    /// Counts the tasks parked: a wake of an earlier one (its wakers may outlive it) is
    /// not taken for the present one's.
    generation: u64,
    /// The present task was woken since it was last polled.
    woken: bool,
    /// A caller polls the present task now.
    polling: bool,
    /// The caller waiting in the dispatcher, woken in the task's stead.
    waiter: Option<Waker>,
    /// Where a task woken with no caller waiting goes.
    runtime: Option<tokio::runtime::Handle>,
}

/// The waker of one parked task.
struct TaskWaker {
    parked: Arc<Parked>,
    generation: u64,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let mut inner = self.parked.lock();
        if inner.generation != self.generation {
            return;
        }
        inner.woken = true;
        if let Some(waiter) = inner.waiter.take() {
            drop(inner);
            waiter.wake();
            return;
        }
        if !inner.polling {
            Parked::hand_off(inner);
        }
    }
}

impl Parked {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every step under the lock leaves the slot consistent; a poisoned lock is usable.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Polls `task` once here, and parks it if it is not done. On a runtime of one thread
    /// (where nothing is far from the caller) or when the slot holds another task, it goes
    /// to the runtime after that first poll instead. Must be called within the runtime.
    pub(crate) fn poll_and_park(self: &Arc<Self>, mut task: Task) {
        let runtime = tokio::runtime::Handle::current();
        if runtime.runtime_flavor() != RuntimeFlavor::MultiThread {
            if task
                .as_mut()
                .poll(&mut Context::from_waker(Waker::noop()))
                .is_pending()
            {
                drop(runtime.spawn(task));
            }
            return;
        }
        let waker = {
            let mut inner = self.lock();
            if inner.task.is_some() || inner.polling {
                drop(inner);
                drop(runtime.spawn(task));
                return;
            }
            inner.generation += 1;
            inner.woken = false;
            inner.polling = true;
            inner.runtime = Some(runtime);
            self.waker(inner.generation)
        };
        let done = task
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_ready();
        let mut inner = self.lock();
        inner.polling = false;
        if done {
            drop(inner);
            return;
        }
        inner.task = Some(task);
        // Woken while polled: nobody waits to poll it again.
        if inner.woken {
            Self::hand_off(inner);
        }
    }

    /// Runs `wait`, polling the parked task whenever it is woken in the meantime.
    pub(crate) async fn drive_while<F: Future>(self: &Arc<Self>, wait: F) -> F::Output {
        let _leaving = Leaving(self);
        let mut wait = std::pin::pin!(wait);
        std::future::poll_fn(|cx| {
            self.drive(cx);
            wait.as_mut().poll(cx)
        })
        .await
    }

    /// Polls the parked task if it was woken, once: a task that wakes itself while polled
    /// (a spent cooperative budget) is polled again after the caller yields.
    fn drive(self: &Arc<Self>, cx: &mut Context<'_>) {
        let (mut task, waker) = {
            let mut inner = self.lock();
            if inner.task.is_none() {
                inner.waiter = None;
                return;
            }
            if !inner.woken {
                if !inner
                    .waiter
                    .as_ref()
                    .is_some_and(|w| w.will_wake(cx.waker()))
                {
                    inner.waiter = Some(cx.waker().clone());
                }
                return;
            }
            let Some(task) = inner.task.take() else {
                return;
            };
            inner.woken = false;
            inner.polling = true;
            inner.waiter = None;
            (task, self.waker(inner.generation))
        };
        if task
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_ready()
        {
            self.lock().polling = false;
            return;
        }
        let mut inner = self.lock();
        inner.polling = false;
        inner.task = Some(task);
        if inner.woken {
            drop(inner);
            cx.waker().wake_by_ref();
        } else {
            inner.waiter = Some(cx.waker().clone());
        }
    }

    /// Sends the parked task to the runtime, which polls it from then on.
    fn hand_off(mut inner: MutexGuard<'_, Inner>) {
        let Some(task) = inner.task.take() else {
            return;
        };
        inner.waiter = None;
        let runtime = inner.runtime.take();
        drop(inner);
        match runtime {
            Some(runtime) => drop(runtime.spawn(task)),
            None => drop(tokio::spawn(task)),
        }
    }

    fn waker(self: &Arc<Self>, generation: u64) -> Waker {
        Waker::from(Arc::new(TaskWaker {
            parked: Arc::clone(self),
            generation,
        }))
    }
}

/// A caller's leaving [`Parked::drive_while`], done or dropped: a task it left woken goes
/// to the runtime.
struct Leaving<'a>(&'a Arc<Parked>);

impl Drop for Leaving<'_> {
    fn drop(&mut self) {
        let mut inner = self.0.lock();
        inner.waiter = None;
        if inner.woken && !inner.polling {
            Parked::hand_off(inner);
        }
    }
}
