//! Helpers for mocked SDK clients: what a mock saw, and a client that panics on one call.

/// What a mocked client saw, one value per call, shared between the mock's closure and the
/// test: `record` in the closure (it returns the call's number, from 1), `seen` in the test.
#[derive(Debug)]
pub struct Recorder<T>(std::sync::Arc<std::sync::Mutex<Vec<T>>>);

impl<T> Clone for Recorder<T> {
    fn clone(&self) -> Self {
        Self(std::sync::Arc::clone(&self.0))
    }
}

impl<T> Default for Recorder<T> {
    fn default() -> Self {
        Self(std::sync::Arc::default())
    }
}

impl<T: Clone> Recorder<T> {
    /// Records one call; returns its number, from 1.
    pub fn record(&self, value: T) -> usize {
        let mut calls = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        calls.push(value);
        calls.len()
    }

    /// Every call recorded so far, in order.
    #[must_use]
    pub fn seen(&self) -> Vec<T> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// An SDK interceptor that panics on one operation, known by its input type `I`
/// (`ListShardsInput`, `GetQueueAttributesInput`), before any mock rule is looked at, and
/// counts how often it did: the panicking client a dispatcher must survive.
pub struct PanicOn<I> {
    panics: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    input: std::marker::PhantomData<fn() -> I>,
}

impl<I> PanicOn<I> {
    /// Panics on every call whose input is an `I`.
    #[must_use]
    pub fn new() -> Self {
        Self {
            panics: std::sync::Arc::default(),
            input: std::marker::PhantomData,
        }
    }

    /// How many calls panicked.
    #[must_use]
    pub fn panics(&self) -> usize {
        self.panics.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl<I> Default for PanicOn<I> {
    fn default() -> Self {
        Self::new()
    }
}

impl<I> Clone for PanicOn<I> {
    fn clone(&self) -> Self {
        Self {
            panics: std::sync::Arc::clone(&self.panics),
            input: std::marker::PhantomData,
        }
    }
}

impl<I> std::fmt::Debug for PanicOn<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PanicOn")
            .field("input", &std::any::type_name::<I>())
            .field("panics", &self.panics())
            .finish()
    }
}

impl<I: std::fmt::Debug + Send + Sync + 'static>
    aws_smithy_runtime_api::client::interceptors::Intercept for PanicOn<I>
{
    fn name(&self) -> &'static str {
        "PanicOn"
    }

    fn read_before_execution(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        if context.input().downcast_ref::<I>().is_some() {
            self.panics
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            panic!("no rule for {}", std::any::type_name::<I>());
        }
        Ok(())
    }
}
