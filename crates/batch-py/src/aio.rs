//! asyncio: a dispatcher's calls as awaitables of the running event loop. The work runs on
//! the package's runtime, never on the loop's thread; its result comes back to the loop with
//! `call_soon_threadsafe`. Cancelling the awaiting task drops the work (a submit not yet
//! accepted is not accepted; a flush stops waiting, and the next flush returns what it would
//! have returned).

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyModule;
use tokio::sync::oneshot;

use crate::runtime;

thread_local! {
    /// Set by `asubmit_payload` around its call of the class's own `submit_payload`: the
    /// submit it reaches returns an awaitable instead of blocking.
    static SUBMIT_AWAITABLE: Cell<bool> = const { Cell::new(false) };
    /// The awaitable that submit made.
    static SUBMITTED: Cell<Option<Py<PyAny>>> = const { Cell::new(None) };
}

/// Calls `submit` (a class's `submit_payload`, which converts the payload its own way) so
/// that the dispatcher's submit inside it makes an awaitable rather than block; returns it.
/// A payload refused before it reaches the dispatcher raises at once.
pub(crate) fn submit_awaitable<'py>(
    py: Python<'py>,
    submit: impl FnOnce() -> PyResult<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    SUBMIT_AWAITABLE.with(|flag| flag.set(true));
    let called = submit();
    SUBMIT_AWAITABLE.with(|flag| flag.set(false));
    let awaitable = SUBMITTED.with(Cell::take);
    called?;
    match awaitable {
        Some(awaitable) => Ok(awaitable.into_bound(py)),
        None => done(py, py.None()),
    }
}

/// Whether the submit under way is to make an awaitable; the first submit to ask takes the
/// request (a conversion that submits to another dispatcher does so before it).
pub(crate) fn take_submit_request() -> bool {
    SUBMIT_AWAITABLE.with(|flag| flag.replace(false))
}

/// Hands the awaitable of a submit to [`submit_awaitable`].
pub(crate) fn hand_over(awaitable: Bound<'_, PyAny>) {
    SUBMITTED.with(|slot| slot.set(Some(awaitable.unbind())));
}

/// An awaitable that is already done, with `value`.
pub(crate) fn done<'py>(py: Python<'py>, value: Py<PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let future = running_loop(py)?.call_method0("create_future")?;
    future.call_method1("set_result", (value,))?;
    coroutine(py, &future)
}

/// A coroutine awaiting `future`, so that the calls give what an `async def` gives (for
/// `asyncio.create_task`, `asyncio.wait_for`, ...).
fn coroutine<'py>(py: Python<'py>, future: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    static AWAITING: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let awaiting = AWAITING.get_or_try_init(py, || {
        PyModule::from_code(
            py,
            c"async def awaiting(future):\n    return await future\n",
            c"aws_batch_utils_aio.py",
            c"aws_batch_utils_aio",
        )?
        .getattr("awaiting")
        .map(Bound::unbind)
    })?;
    awaiting.bind(py).call1((future,))
}

fn running_loop(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    py.import("asyncio")?.call_method0("get_running_loop")
}

/// An awaitable of the running loop for `work`, whose output `finish` turns into the result
/// (or the exception) with the interpreter attached. `work` is polled once here: what is done
/// at once (a submit with room) costs no trip through the runtime.
pub(crate) fn awaitable<'py, T, F, Fin>(
    py: Python<'py>,
    work: F,
    finish: Fin,
) -> PyResult<Bound<'py, PyAny>>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
    Fin: FnOnce(Python<'_>, T) -> PyResult<Py<PyAny>> + Send + 'static,
{
    let event_loop = running_loop(py)?;
    let runtime = runtime()?;
    let mut work: Pin<Box<F>> = Box::pin(work);
    let first = {
        let _entered = runtime.enter();
        work.as_mut().poll(&mut Context::from_waker(Waker::noop()))
    };
    if let Poll::Ready(output) = first {
        let value = finish(py, output)?;
        return done(py, value);
    }
    let future = event_loop.call_method0("create_future")?;
    let (cancel, cancelled) = oneshot::channel::<()>();
    future.call_method1(
        "add_done_callback",
        (CancelOnDone(Mutex::new(Some(cancel))),),
    )?;
    let (event_loop, settled) = (event_loop.unbind(), future.clone().unbind());
    runtime.spawn(async move {
        // Only a cancel stops the work: an awaitable dropped unawaited still completes.
        let cancelled = async {
            if cancelled.await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        let output = tokio::select! {
            output = work => output,
            () = cancelled => return,
        };
        Python::attach(|py| {
            let (ok, value) = match finish(py, output) {
                Ok(value) => (true, value),
                Err(error) => (false, error.into_value(py).into_any()),
            };
            let settle = wrap_pyfunction!(settle, py).and_then(|settle| {
                event_loop
                    .bind(py)
                    .call_method1("call_soon_threadsafe", (settle, settled, ok, value))
            });
            if let Err(error) = settle {
                // The loop closed before the work ended; nothing awaits it any more.
                tracing::debug!(%error, "the event loop is gone");
            }
        });
    });
    coroutine(py, &future)
}

/// Sets `future`'s result (or exception, when not `ok`) unless it is done (cancelled).
#[pyfunction]
fn settle(future: &Bound<'_, PyAny>, ok: bool, value: &Bound<'_, PyAny>) -> PyResult<()> {
    if future.call_method0("done")?.is_truthy()? {
        return Ok(());
    }
    let method = if ok { "set_result" } else { "set_exception" };
    future.call_method1(method, (value,))?;
    Ok(())
}

/// A done-callback that stops the work of a cancelled awaitable.
#[pyclass(frozen)]
struct CancelOnDone(Mutex<Option<oneshot::Sender<()>>>);

#[pymethods]
impl CancelOnDone {
    fn __call__(&self, future: &Bound<'_, PyAny>) -> PyResult<()> {
        let sender = self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
        if future.call_method0("cancelled")?.is_truthy()?
            && let Some(sender) = sender
        {
            let _ = sender.send(());
        }
        Ok(())
    }
}
