//! SNS: PublishBatch, Publish, GetTopicAttributes (the query protocol).

use std::collections::HashMap;
use std::fmt::Write as _;

use super::{Ctx, Operations, Reply};
use crate::Api;
use crate::protocol::query::{members, ok};

// Named as the operations are, so that counts read `Api::PutRecords`.
#[allow(non_upper_case_globals)]
impl Api {
    /// SNS PublishBatch.
    pub const PublishBatch: Self = Self("PublishBatch");
    /// SNS Publish.
    pub const Publish: Self = Self("Publish");
}

/// The operations, by `Action`.
pub(super) const OPERATIONS: Operations = Operations {
    query: &[
        ("PublishBatch", publish_batch),
        ("Publish", publish),
        ("GetTopicAttributes", get_topic_attributes),
    ],
    json: &[],
    cbor: &[],
};

pub(super) fn publish_batch(ctx: &mut Ctx<'_>, form: &HashMap<String, String>) -> Reply {
    let entries = members(form, "PublishBatchRequestEntries");
    let (mut successful, mut failed, mut accepted) = (String::new(), String::new(), Vec::new());
    for entry in entries.values() {
        let field = |name: &str| entry.get(name).cloned().unwrap_or_default();
        let id = field("Id");
        match ctx.refuse() {
            Some(sender_fault) => {
                let code = if sender_fault {
                    "InvalidParameter"
                } else {
                    "InternalError"
                };
                let _ = write!(
                    failed,
                    "<member><Id>{id}</Id><Code>{code}</Code><Message>injected fault</Message>\
                     <SenderFault>{sender_fault}</SenderFault></member>"
                );
            }
            None => {
                accepted.push(field("Message"));
                let _ = write!(
                    successful,
                    "<member><Id>{id}</Id><MessageId>m</MessageId></member>"
                );
            }
        }
    }
    ctx.record(Api::PublishBatch, accepted, entries.len());
    let result = format!("<Successful>{successful}</Successful><Failed>{failed}</Failed>");
    Reply::Answer(ok("PublishBatch", &result))
}

pub(super) fn publish(ctx: &mut Ctx<'_>, form: &HashMap<String, String>) -> Reply {
    let message = form.get("Message").cloned().unwrap_or_default();
    ctx.record(Api::Publish, vec![message], 1);
    Reply::Answer(ok("Publish", "<MessageId>m</MessageId>"))
}

pub(super) fn get_topic_attributes(_ctx: &mut Ctx<'_>, _form: &HashMap<String, String>) -> Reply {
    Reply::Answer(ok(
        "GetTopicAttributes",
        "<Attributes><entry><key>MaximumMessageSize</key><value>262144</value></entry></Attributes>",
    ))
}
