//! The query protocol (SNS): form-encoded requests, XML answers.

use std::collections::{BTreeMap, HashMap};

use hyper::StatusCode;

use super::{Answer, respond};

/// A request's form.
pub(crate) fn form(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// The fields of a list's members, by member number: `{list}.member.N.{field}`.
pub(crate) fn members(
    form: &HashMap<String, String>,
    list: &str,
) -> BTreeMap<u32, HashMap<String, String>> {
    let prefix = format!("{list}.member.");
    let mut members: BTreeMap<u32, HashMap<String, String>> = BTreeMap::new();
    for (key, value) in form {
        let Some((n, field)) = key
            .strip_prefix(&prefix)
            .and_then(|rest| rest.split_once('.'))
        else {
            continue;
        };
        let Ok(n) = n.parse::<u32>() else { continue };
        members
            .entry(n)
            .or_default()
            .insert(field.to_owned(), value.clone());
    }
    members
}

/// An answer: `<{action}Response><{action}Result>{result}...`.
pub(crate) fn ok(action: &str, result: &str) -> Answer {
    let body = format!(
        "<{action}Response xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><{action}Result>{result}\
         </{action}Result><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></{action}Response>"
    );
    respond(StatusCode::OK, "text/xml", body.into_bytes())
}

/// An error.
pub(crate) fn error(status: StatusCode, code: &str) -> Answer {
    let kind = if status.is_server_error() {
        "Receiver"
    } else {
        "Sender"
    };
    let body = format!(
        "<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>injected fault</Message>\
         </Error><RequestId>r</RequestId></ErrorResponse>"
    );
    respond(status, "text/xml", body.into_bytes())
}
