//! CloudWatch: PutMetricData, in rpcv2Cbor as the Rust SDK sends it and awsJson 1.0 as
//! boto3 does, with a request rate.

use serde_json::{Value, json};

use super::{Ctx, Operations, Reply};
use crate::Api;
use crate::protocol::cbor;
use crate::protocol::json::{self, JSON_10, ok};

// Named as the operations are, so that counts read `Api::PutRecords`.
#[allow(non_upper_case_globals)]
impl Api {
    /// CloudWatch PutMetricData.
    pub const PutMetricData: Self = Self("PutMetricData");
}

/// The operations: rpcv2Cbor as the Rust SDK speaks it, and awsJson 1.0 as boto3 does.
pub(super) const OPERATIONS: Operations = Operations {
    json: &[(
        "GraniteServiceVersion20100801.PutMetricData",
        put_metric_data_json,
    )],
    query: &[],
    cbor: &[("PutMetricData", put_metric_data_cbor)],
};

pub(super) fn put_metric_data_json(ctx: &mut Ctx<'_>, request: &Value) -> Reply {
    let data = request["MetricData"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if ctx.over_rate(Api::PutMetricData, data.len()) {
        return Reply::Refused(json::throttled("ThrottlingException"));
    }
    let names: Vec<String> = data
        .iter()
        .map(|datum| datum["MetricName"].as_str().unwrap_or_default().to_owned())
        .collect();
    let sent = names.len();
    ctx.record(Api::PutMetricData, names, sent);
    Reply::Answer(ok(JSON_10, &json!({})))
}

pub(super) fn put_metric_data_cbor(ctx: &mut Ctx<'_>, body: &[u8]) -> Reply {
    let names = cbor::texts_in(body, "MetricData", "MetricName");
    let sent = names.len();
    if ctx.over_rate(Api::PutMetricData, sent) {
        return Reply::Refused(cbor::throttled("ThrottlingException"));
    }
    ctx.record(Api::PutMetricData, names, sent);
    Reply::Answer(cbor::ok())
}
