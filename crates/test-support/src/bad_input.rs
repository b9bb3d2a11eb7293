//! The shared checks of the bad-input cases: refused, handed back, and the dispatcher goes on.

/// One bad-input case: submits `bad` to `dispatcher` and checks that it is refused, handed
/// back as submitted, and leaves nothing pending; then that `good` is accepted (the dispatcher
/// goes on). The dispatcher is abandoned, so nothing is sent. Returns the refusal.
///
/// # Panics
///
/// When `bad` is accepted, comes back changed, or `good` is refused.
pub async fn refused_then_accepted<B: batch_core::Backend>(
    dispatcher: &batch_core::Dispatcher<B>,
    bad: B::Payload,
    good: B::Payload,
) -> batch_core::SubmitError<B::Payload>
where
    B::Payload: Clone + PartialEq + std::fmt::Debug,
{
    let Err(err) = dispatcher.submit_payload(bad.clone()).await else {
        panic!("{bad:?} was accepted");
    };
    assert_eq!(err.payload(), &bad, "the payload comes back as submitted");
    assert_eq!(dispatcher.pending(), 0, "nothing pending after a refusal");
    if let Err(refused) = dispatcher.submit_payload(good).await {
        panic!("a good payload after a refusal was refused: {refused}");
    }
    assert_eq!(dispatcher.pending(), 1);
    dispatcher.abandon();
    let _ = dispatcher.flush_payloads().await;
    err
}

/// One limit case: `at_limit` is accepted (and then abandoned, so nothing is sent).
///
/// # Panics
///
/// When it is refused.
pub async fn accepted<B: batch_core::Backend>(
    dispatcher: &batch_core::Dispatcher<B>,
    at_limit: B::Payload,
) where
    B::Payload: std::fmt::Debug,
{
    if let Err(err) = dispatcher.submit_payload(at_limit).await {
        panic!("refused at the limit: {err}");
    }
    assert_eq!(dispatcher.pending(), 1);
    dispatcher.abandon();
    let _ = dispatcher.flush_payloads().await;
}
