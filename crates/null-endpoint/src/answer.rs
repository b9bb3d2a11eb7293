//! One request, answered: read, injected faults, the operation, a lost answer.

use std::sync::atomic::Ordering;
use std::time::Duration;

use hyper::Request;
use hyper::body::Incoming;

use crate::Counters;
use crate::faults::Draw;
use crate::ops::{Ctx, Reply, dispatch};
use crate::protocol::{Answer, Call, fault};

/// The answer to `request` after `latency`, or `None` for an answer lost to a fault.
pub(crate) async fn answer(
    counters: &Counters,
    latency: Duration,
    request: Request<Incoming>,
) -> Option<Answer> {
    if let Some(root) = counters.objects.get()
        && crate::objects::is_object_request(&request)
    {
        return Some(crate::objects::answer(counters, root, request).await);
    }
    let served = counters.served.fetch_add(1, Ordering::Relaxed);
    let mut draw = counters
        .faults_config
        .clone()
        .map(|faults| Draw::of_request(faults, served));
    let call = match Call::read(request).await {
        Ok(call) => call,
        Err(unreadable) => return Some(unreadable),
    };
    let mut delay = latency;
    let failure = draw
        .as_mut()
        .and_then(|draw| draw.before(counters, &mut delay));
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if let Some((status, code)) = failure {
        return Some(fault(call.protocol, status, code));
    }
    let mut ctx = Ctx {
        counters,
        draw: draw.as_mut(),
        body_bytes: call.body.len() as u64,
    };
    match dispatch(&mut ctx, &call) {
        Reply::Refused(answer) => Some(answer),
        Reply::Answer(answer) => {
            let lost = draw
                .as_mut()
                .is_some_and(|draw| draw.loses_answer(counters));
            (!lost).then_some(answer)
        }
    }
}
