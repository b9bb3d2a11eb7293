//! A table's write capacity, for pacing from the first request: given by the user, or read
//! once with DescribeTable when asked to.

use std::sync::OnceLock;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::describe_table::DescribeTableOutput;
use aws_sdk_dynamodb::types::{BillingMode, OnDemandThroughput, ProvisionedThroughputDescription};
use batch_core::ConfigError;
use tokio::sync::OnceCell;

/// Bytes one write capacity unit writes: an item costs one unit per KB, rounded up.
///
/// Source: DynamoDB developer guide, "Read/write capacity mode", write capacity units;
/// checked 2026-12-06.
pub const WRITE_UNIT_BYTES: usize = 1024;

/// What the dispatcher knows of the table's write capacity.
#[derive(Debug, Default)]
pub(crate) struct WriteCapacity {
    /// Units per second the user gave; nothing is read then.
    given: Option<f64>,
    /// Whether to read it (DescribeTable) at the first submit.
    read: bool,
    /// The read's result, once it ran; `None` inside when nothing could be read.
    read_once: OnceCell<Option<f64>>,
    /// The same, readable without waiting.
    known: OnceLock<f64>,
}

impl WriteCapacity {
    pub(crate) fn given(&mut self, units: f64) {
        self.given = Some(units);
    }

    pub(crate) fn set_read(&mut self, read: bool) {
        self.read = read;
    }

    /// Units per second, given or read; `None` when neither (learned from throttling).
    pub(crate) fn units(&self) -> Option<f64> {
        self.given.or_else(|| self.known.get().copied())
    }

    /// Checks the units the user gave: a positive, finite number.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        match self.given {
            Some(units) if !(units.is_finite() && units > 0.0) => Err(ConfigError::Invalid {
                field: "write_capacity",
                reason: format!("must be a positive number of units per second, got {units}"),
            }),
            _ => Ok(()),
        }
    }

    /// Whether a read is still to be made.
    pub(crate) fn to_read(&self) -> bool {
        self.read && self.given.is_none() && !self.read_once.initialized()
    }

    /// Reads the table's write capacity with DescribeTable, once. A table that cannot be
    /// read (no permission for DescribeTable, an on-demand table without a maximum) keeps
    /// its rate learned from throttling.
    pub(crate) async fn read(&self, client: &Client, table: &str) {
        self.read_once
            .get_or_init(|| async {
                let read = async {
                    let output = client
                        .describe_table()
                        .table_name(table)
                        .send()
                        .await
                        .map_err(|error| {
                            tracing::info!(
                                table,
                                error = %aws_sdk_dynamodb::Error::from(error),
                                "the table's write capacity could not be read; its rate is \
                                 learned from throttling"
                            );
                        })
                        .ok()?;
                    write_units(&output)
                };
                let units = batch_core::read_setting(table, read).await;
                match units {
                    Some(units) => {
                        tracing::debug!(table, units, "table write capacity read");
                        let _ = self.known.set(units);
                    }
                    None => tracing::debug!(
                        table,
                        "the table has no fixed write capacity; its rate is learned"
                    ),
                }
                units
            })
            .await;
    }
}

/// The write units per second a table takes: its provisioned capacity, or its on-demand
/// maximum where one is set; the lowest of the table's and its global secondary indexes'
/// (a write to the table is also a write to each index that holds the item, and an index
/// short of capacity throttles the table's writes). `None` for an on-demand table without
/// a maximum.
fn write_units(output: &DescribeTableOutput) -> Option<f64> {
    let table = output.table()?;
    let on_demand = table
        .billing_mode_summary()
        .and_then(|summary| summary.billing_mode())
        == Some(&BillingMode::PayPerRequest);
    let units = |provisioned: Option<&ProvisionedThroughputDescription>,
                 maximum: Option<&OnDemandThroughput>| {
        let units = if on_demand {
            maximum.and_then(OnDemandThroughput::max_write_request_units)
        } else {
            provisioned.and_then(ProvisionedThroughputDescription::write_capacity_units)
        };
        #[allow(clippy::cast_precision_loss)]
        units.filter(|&units| units >= 1).map(|units| units as f64)
    };
    std::iter::once(units(
        table.provisioned_throughput(),
        table.on_demand_throughput(),
    ))
    .chain(
        table
            .global_secondary_indexes()
            .iter()
            .map(|index| units(index.provisioned_throughput(), index.on_demand_throughput())),
    )
    .flatten()
    .min_by(f64::total_cmp)
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::{
        BillingModeSummary, GlobalSecondaryIndexDescription, TableDescription,
    };

    use super::*;

    fn provisioned(units: i64) -> ProvisionedThroughputDescription {
        ProvisionedThroughputDescription::builder()
            .write_capacity_units(units)
            .read_capacity_units(5)
            .build()
    }

    fn described(table: TableDescription) -> DescribeTableOutput {
        DescribeTableOutput::builder().table(table).build()
    }

    #[test]
    fn a_provisioned_table_takes_the_lowest_of_its_and_its_indexes_units() {
        let index = |units| {
            GlobalSecondaryIndexDescription::builder()
                .provisioned_throughput(provisioned(units))
                .build()
        };
        let table = TableDescription::builder()
            .provisioned_throughput(provisioned(1_000))
            .global_secondary_indexes(index(400))
            .global_secondary_indexes(index(0))
            .build();
        assert_eq!(write_units(&described(table)), Some(400.0));
        let alone = TableDescription::builder()
            .provisioned_throughput(provisioned(1_000))
            .build();
        assert_eq!(write_units(&described(alone)), Some(1_000.0));
    }

    #[test]
    fn an_on_demand_table_has_units_only_with_a_maximum() {
        let on_demand = || {
            BillingModeSummary::builder()
                .billing_mode(BillingMode::PayPerRequest)
                .build()
        };
        let unbounded = TableDescription::builder()
            .billing_mode_summary(on_demand())
            .provisioned_throughput(provisioned(0))
            .build();
        assert_eq!(write_units(&described(unbounded)), None);
        let removed = TableDescription::builder()
            .billing_mode_summary(on_demand())
            .on_demand_throughput(
                OnDemandThroughput::builder()
                    .max_write_request_units(-1)
                    .build(),
            )
            .build();
        assert_eq!(write_units(&described(removed)), None);
        let bounded = TableDescription::builder()
            .billing_mode_summary(on_demand())
            .on_demand_throughput(
                OnDemandThroughput::builder()
                    .max_write_request_units(2_000)
                    .build(),
            )
            .build();
        assert_eq!(write_units(&described(bounded)), Some(2_000.0));
    }
}
