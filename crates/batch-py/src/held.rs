//! A dispatcher as Python holds it: each payload goes in with a tag, and the Python object it
//! was made from is kept under that tag until the service accepts it, so that what cannot be
//! delivered comes back as the very object the caller submitted.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use aws_batch_utils::engine::{
    Backend, Dispatcher, Failure, SubmitError as RustSubmitError, SubmitErrorKind, Unprocessed,
};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::settings::{Settings, config_error};
use crate::{SubmitError, UnprocessedItem, aio, runtime};

type Objects = Arc<Mutex<HashMap<u64, Py<PyAny>>>>;

/// What the original names a dispatcher's service and batch call: its `aws_service_name`
/// (the boto3 client's name) and `batch_dispatch_method`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Boto3Names {
    pub(crate) service: &'static str,
    pub(crate) method: &'static str,
}

fn lock(objects: &Objects) -> MutexGuard<'_, HashMap<u64, Py<PyAny>>> {
    objects.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One dispatcher and the Python objects of its payloads not yet accepted.
pub(crate) struct Held<B: Backend> {
    /// `None` only while dropping. Shared with the work of the awaitables under way.
    dispatcher: Option<Arc<Dispatcher<B>>>,
    objects: Objects,
    next_tag: AtomicU64,
    /// Every payload handed back so far, the submitted objects themselves, as the original's
    /// `unprocessed_items`.
    unprocessed: Py<PyList>,
    /// The same, as [`UnprocessedItem`]s with the reasons.
    failures: Py<PyList>,
    /// `ClassName::target`, as the original's `str()`.
    label: String,
    /// The original's `aws_service_name` and `batch_dispatch_method`.
    boto3: Boto3Names,
    /// The process that made it: a forked child holds a copy whose requests and timers ran
    /// in the parent, and must make its own.
    pid: u32,
}

impl<B: Backend> Held<B> {
    /// Builds the dispatcher of `backend` with `settings`.
    pub(crate) fn build(
        py: Python<'_>,
        backend: B,
        settings: &Settings,
        label: String,
        boto3: Boto3Names,
    ) -> PyResult<Self> {
        let objects: Objects = Arc::default();
        let accepted = Arc::clone(&objects);
        let builder = Dispatcher::builder(backend)
            .config(settings.config.clone())
            // Runs on a runtime thread: the object's reference is released the next time
            // the interpreter is entered.
            .on_delivered(move |tag| {
                lock(&accepted).remove(&tag);
            });
        let builder = match &settings.coordinator {
            Some(coordinator) => builder.coordinator(coordinator.clone()),
            None => builder,
        };
        let dispatcher = builder.build().map_err(|e| config_error(&e))?;
        Ok(Self {
            dispatcher: Some(Arc::new(dispatcher)),
            objects,
            next_tag: AtomicU64::new(0),
            unprocessed: PyList::empty(py).unbind(),
            failures: PyList::empty(py).unbind(),
            label,
            boto3,
            pid: std::process::id(),
        })
    }

    fn dispatcher(&self) -> PyResult<&Arc<Dispatcher<B>>> {
        if self.pid != std::process::id() {
            return Err(PyRuntimeError::new_err(format!(
                "{} was made in process {} before this one was forked from it; a forked process \
                 (a multiprocessing worker, a prefork server's worker) makes its own dispatcher \
                 (the payloads submitted before the fork are the parent's to deliver)",
                self.label, self.pid
            )));
        }
        self.dispatcher
            .as_ref()
            .ok_or_else(|| PyRuntimeError::new_err("the dispatcher is closed"))
    }

    /// Submits `payload`, made from `original`; a refusal is a [`SubmitError`] carrying
    /// `original`. Called under `asubmit_payload`, hands over an awaitable instead of waiting.
    pub(crate) fn submit(
        &self,
        py: Python<'_>,
        payload: B::Payload,
        original: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let dispatcher = Arc::clone(self.dispatcher()?);
        let runtime = runtime()?;
        let tag = self.next_tag.fetch_add(1, Ordering::Relaxed);
        lock(&self.objects).insert(tag, original.clone().unbind());
        if aio::take_submit_request() {
            let (objects, original) = (Arc::clone(&self.objects), original.clone().unbind());
            let cancelled = Arc::clone(&self.objects);
            let work = async move {
                let submitted = AcceptedOrForgotten {
                    objects: cancelled,
                    tag,
                    settled: false,
                };
                let result = dispatcher.submit_tagged(payload, tag).await;
                submitted.settle();
                result
            };
            let awaitable = aio::awaitable(py, work, move |py, result| match result {
                Ok(()) => Ok(py.None()),
                Err(err) => Err(refused(py, &objects, tag, &err, original.bind(py))),
            })?;
            aio::hand_over(awaitable);
            return Ok(());
        }
        // Waits only when max_in_flight requests are busy and the batch is full.
        let result = py.detach(|| runtime.block_on(dispatcher.submit_tagged(payload, tag)));
        result.map_err(|err| refused(py, &self.objects, tag, &err, original))
    }

    /// Sends everything pending and returns what could not be delivered: the submitted
    /// objects themselves, or with `details` the [`UnprocessedItem`]s (both also added to
    /// [`unprocessed`](Self::unprocessed) and [`failures`](Self::failures)). With `timeout`
    /// (seconds), what is still unsent when it passes comes back as `Abandoned`.
    pub(crate) fn flush(
        &self,
        py: Python<'_>,
        timeout: Option<f64>,
        details: bool,
    ) -> PyResult<Py<PyList>> {
        let (work, results) = self.flush_work(py, timeout)?;
        let runtime = runtime()?;
        let failed = py.detach(|| runtime.block_on(work));
        results.hand_back(py, failed, details)
    }

    /// [`flush`](Self::flush) as an awaitable of the running event loop; for `__aexit__`
    /// (`exit`) it resolves to `False` instead of the list.
    pub(crate) fn flush_awaitable<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
        details: bool,
        exit: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (work, results) = self.flush_work(py, timeout)?;
        aio::awaitable(py, work, move |py, failed| {
            let list = results.hand_back(py, failed, details)?;
            Ok(if exit {
                pyo3::types::PyBool::new(py, false)
                    .to_owned()
                    .into_any()
                    .unbind()
            } else {
                list.into_any()
            })
        })
    }

    /// The flush to run, and where its results go.
    #[allow(clippy::type_complexity)]
    fn flush_work(
        &self,
        py: Python<'_>,
        timeout: Option<f64>,
    ) -> PyResult<(
        impl std::future::Future<Output = Vec<Unprocessed<B::Payload>>> + Send + 'static,
        Results,
    )> {
        let dispatcher = Arc::clone(self.dispatcher()?);
        let timeout = timeout
            .map(Duration::try_from_secs_f64)
            .transpose()
            .map_err(|e| PyValueError::new_err(format!("timeout: {e}")))?;
        let results = Results {
            objects: Arc::clone(&self.objects),
            unprocessed: self.unprocessed.clone_ref(py),
            failures: self.failures.clone_ref(py),
            // Payloads submitted from here on (by another thread) are not this flush's.
            before: self.next_tag.load(Ordering::Relaxed),
        };
        let work = async move {
            match timeout {
                // Out of time: what is still in flight or pending comes back now, as
                // Abandoned, rather than by a later flush.
                Some(timeout) => dispatcher.flush_payloads_within(timeout).await,
                None => dispatcher.flush_payloads().await,
            }
        };
        Ok((work, results))
    }

    pub(crate) fn unprocessed(&self, py: Python<'_>) -> Py<PyList> {
        self.unprocessed.clone_ref(py)
    }

    pub(crate) fn failures(&self, py: Python<'_>) -> Py<PyList> {
        self.failures.clone_ref(py)
    }

    pub(crate) fn boto3(&self) -> Boto3Names {
        self.boto3
    }

    /// Payloads a request carries at most, as configured.
    pub(crate) fn max_batch_size(&self) -> PyResult<usize> {
        Ok(self.dispatcher()?.limits().max_entries)
    }

    pub(crate) fn label(&self) -> &str {
        &self.label
    }

    /// Payloads waiting for a request, and the counters since the start.
    pub(crate) fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dispatcher = self.dispatcher()?;
        let stats = dispatcher.stats();
        let dict = PyDict::new(py);
        dict.set_item("pending", dispatcher.pending())?;
        dict.set_item("submitted", stats.submitted)?;
        dict.set_item("delivered", stats.delivered)?;
        dict.set_item("rejected", stats.rejected)?;
        dict.set_item("duplicates_dropped", stats.duplicates_dropped)?;
        dict.set_item("superseded", stats.superseded)?;
        dict.set_item("unprocessed", stats.unprocessed)?;
        dict.set_item("requests_sent", stats.requests_sent)?;
        dict.set_item("retries", stats.retries)?;
        dict.set_item("throttled", stats.throttled)?;
        dict.set_item("paced_rate", stats.paced_rate)?;
        dict.set_item("paced_wait_seconds", stats.paced_wait.as_secs_f64())?;
        Ok(dict)
    }
}

/// Where a flush's results go: the objects come back out of `objects`, and are added to the
/// dispatcher's `unprocessed_items` and `failures`.
struct Results {
    objects: Objects,
    unprocessed: Py<PyList>,
    failures: Py<PyList>,
    before: u64,
}

impl Results {
    fn hand_back<P>(
        self,
        py: Python<'_>,
        failed: Vec<Unprocessed<P>>,
        details: bool,
    ) -> PyResult<Py<PyList>> {
        let (items, payloads) = (PyList::empty(py), PyList::empty(py));
        let (all_payloads, all_items) = (self.unprocessed.bind(py), self.failures.bind(py));
        let mut objects = lock(&self.objects);
        for unprocessed in failed {
            let payload = unprocessed
                .tag
                .and_then(|tag| objects.remove(&tag))
                .unwrap_or_else(|| py.None());
            let error = unprocessed.error;
            payloads.append(payload.bind(py))?;
            all_payloads.append(payload.bind(py))?;
            let item = Py::new(
                py,
                UnprocessedItem {
                    payload,
                    code: error.code().to_owned(),
                    message: error.message().to_owned(),
                    attempts: error.attempts,
                    retryable: error.is_retryable(),
                    reason: format!("{:?}", error.reason),
                    cause: cause_chain(&error.failure),
                },
            )?;
            items.append(&item)?;
            all_items.append(item)?;
        }
        // The rest were dropped as duplicates of a payload that stands for them.
        objects.retain(|&tag, _| tag >= self.before);
        Ok(if details { items } else { payloads }.unbind())
    }
}

/// Forgets the object of a submit dropped before the dispatcher took its payload (its
/// awaitable was cancelled): it will not come back from a flush.
struct AcceptedOrForgotten {
    objects: Objects,
    tag: u64,
    settled: bool,
}

impl AcceptedOrForgotten {
    fn settle(mut self) {
        self.settled = true;
    }
}

impl Drop for AcceptedOrForgotten {
    fn drop(&mut self) {
        if !self.settled {
            lock(&self.objects).remove(&self.tag);
        }
    }
}

/// The [`SubmitError`] of a payload the dispatcher refused, carrying `original`.
fn refused<P>(
    py: Python<'_>,
    objects: &Objects,
    tag: u64,
    err: &RustSubmitError<P>,
    original: &Bound<'_, PyAny>,
) -> PyErr {
    lock(objects).remove(&tag);
    let kind = err.kind();
    let error = submit_error(py, kind.field(), &kind.to_string(), original);
    let value = error.value(py);
    // The limit broken, for a program to act on (split the payload, shorten a field).
    let _ = match kind {
        SubmitErrorKind::TooLarge { size, limit, .. } => value
            .setattr("size", size)
            .and_then(|()| value.setattr("limit", limit)),
        SubmitErrorKind::OutOfRange { allowed, .. } => value.setattr("allowed", allowed),
        _ => Ok(()),
    };
    error
}

impl<B: Backend> Drop for Held<B> {
    fn drop(&mut self) {
        if self.pid != std::process::id() {
            // A copy made by a fork: its payloads are the parent's to deliver, and its
            // tasks and connections belong to the parent's runtime.
            std::mem::forget(self.dispatcher.take());
            return;
        }
        // With the runtime entered, a dispatcher dropped with payloads pending delivers them
        // in the background (and logs the outcome) instead of losing them.
        if let Ok(runtime) = runtime() {
            let _entered = runtime.enter();
            drop(self.dispatcher.take());
        }
    }
}

/// The causes behind a failure (a connection refused behind a "dispatch failure"), outermost
/// first, each said once.
fn cause_chain(failure: &Failure) -> Option<String> {
    let mut causes: Vec<String> = Vec::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> = failure
        .source
        .as_deref()
        .map(|source| source as &(dyn std::error::Error + 'static));
    while let Some(error) = next {
        let text = error.to_string();
        if text != failure.message && causes.last() != Some(&text) {
            causes.push(text);
        }
        next = error.source();
    }
    (!causes.is_empty()).then(|| causes.join(": "))
}

/// A [`SubmitError`] naming `field`, with the caller's object as its `payload`.
pub(crate) fn submit_error(
    py: Python<'_>,
    field: &str,
    reason: &str,
    payload: &Bound<'_, PyAny>,
) -> PyErr {
    let err = SubmitError::new_err(reason.to_owned());
    let value = err.value(py);
    // Setting attributes on a fresh exception object cannot fail.
    let _ = value.setattr("field", field);
    let _ = value.setattr("reason", reason);
    let _ = value.setattr("payload", payload);
    let _ = value.setattr("size", py.None());
    let _ = value.setattr("limit", py.None());
    let _ = value.setattr("allowed", py.None());
    err
}

/// The methods every dispatcher class has: `flush_payloads`, `unprocessed_items`, `stats`,
/// the context manager (a `with` block flushes at its end) and `str()`. `$methods` are the
/// class's own.
macro_rules! dispatcher_methods {
    ($class:ident { $($methods:tt)* }) => {
        #[pyo3::pymethods]
        impl $class {
            $($methods)*

            /// Sends everything pending and returns what could not be delivered by this
            /// flush: the submitted objects themselves, as the original returned them (also
            /// added to `unprocessed_items`); with `details=True` the `UnprocessedItem`s,
            /// each with the object and why (also added to `failures`). With `timeout`
            /// (seconds), what is still unsent when it passes comes back as `Abandoned`.
            #[pyo3(signature = (timeout=None, details=false))]
            fn flush_payloads(
                &self,
                py: pyo3::Python<'_>,
                timeout: Option<f64>,
                details: bool,
            ) -> pyo3::PyResult<pyo3::Py<pyo3::types::PyList>> {
                self.held.flush(py, timeout, details)
            }

            /// `await`able `submit_payload` (the same arguments), for asyncio code: waits,
            /// when the dispatcher is full, without holding up the event loop. A payload
            /// that can never be sent raises `SubmitError` at once. Cancelled before the
            /// dispatcher took it, the payload is not taken.
            #[pyo3(signature = (*args, **kwargs))]
            fn asubmit_payload<'py>(
                slf: &pyo3::Bound<'py, Self>,
                args: &pyo3::Bound<'py, pyo3::types::PyTuple>,
                kwargs: Option<&pyo3::Bound<'py, pyo3::types::PyDict>>,
            ) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::PyAny>> {
                $crate::aio::submit_awaitable(slf.py(), || {
                    slf.call_method("submit_payload", args.clone(), kwargs)
                })
            }

            /// `await`able `flush_payloads` (the same arguments and result), for asyncio
            /// code. Cancelled, it stops waiting; nothing is lost: the next flush returns
            /// what this one would have.
            #[pyo3(signature = (timeout=None, details=false))]
            fn aflush_payloads<'py>(
                &self,
                py: pyo3::Python<'py>,
                timeout: Option<f64>,
                details: bool,
            ) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::PyAny>> {
                self.held.flush_awaitable(py, timeout, details, false)
            }

            fn __aenter__<'py>(
                slf: &pyo3::Bound<'py, Self>,
            ) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::PyAny>> {
                $crate::aio::done(slf.py(), slf.clone().into_any().unbind())
            }

            /// Flushes; what could not be delivered is in `unprocessed_items`.
            #[pyo3(signature = (*_exc))]
            fn __aexit__<'py>(
                &self,
                py: pyo3::Python<'py>,
                _exc: &pyo3::Bound<'py, pyo3::types::PyTuple>,
            ) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::PyAny>> {
                // Resolves to False: the exception of the block, if any, goes on.
                self.held.flush_awaitable(py, None, false, true)
            }

            /// Every payload handed back by the flushes so far, the submitted objects
            /// themselves, in order.
            #[getter]
            fn unprocessed_items(&self, py: pyo3::Python<'_>) -> pyo3::Py<pyo3::types::PyList> {
                self.held.unprocessed(py)
            }

            /// The same as `unprocessed_items`, as `UnprocessedItem`s: the object, the AWS
            /// code and message, the attempts and the reason.
            #[getter]
            fn failures(&self, py: pyo3::Python<'_>) -> pyo3::Py<pyo3::types::PyList> {
                self.held.failures(py)
            }

            /// The boto3 client's name of the service, as the original's attribute.
            #[getter]
            fn aws_service_name(&self) -> &'static str {
                self.held.boto3().service
            }

            /// The boto3 method of the batch call, as the original's attribute.
            #[getter]
            fn batch_dispatch_method(&self) -> &'static str {
                self.held.boto3().method
            }

            /// Payloads a request carries at most.
            #[getter]
            fn max_batch_size(&self) -> pyo3::PyResult<usize> {
                self.held.max_batch_size()
            }

            /// Counters since the start: submitted, delivered, unprocessed, requests_sent, ...
            fn stats<'py>(
                &self,
                py: pyo3::Python<'py>,
            ) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::types::PyDict>> {
                self.held.stats(py)
            }

            fn __enter__(slf: pyo3::Py<Self>) -> pyo3::Py<Self> {
                slf
            }

            /// Flushes; what could not be delivered is in `unprocessed_items`.
            #[pyo3(signature = (*_exc))]
            fn __exit__(
                &self,
                py: pyo3::Python<'_>,
                _exc: &pyo3::Bound<'_, pyo3::types::PyTuple>,
            ) -> pyo3::PyResult<bool> {
                self.held.flush(py, None, false)?;
                Ok(false)
            }

            fn __str__(&self) -> String {
                self.held.label().to_owned()
            }
        }
    };
}

pub(crate) use dispatcher_methods;
