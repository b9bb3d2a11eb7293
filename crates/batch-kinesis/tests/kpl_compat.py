"""Both directions of the KPL format with AWS Labs' aws-kinesis-agg.

Reads JSON on stdin: {"ours": [{"pk", "data"}], "records": [{"pk", "ehk", "data"}]}, data in
hex. Writes {"deaggregated": [[user record, ...] per record of ours], "aggregated": [{"pk",
"ehk", "data"}]}: ours read by its de-aggregator, and "records" packed by its aggregator.
"""
import base64
import json
import sys

from aws_kinesis_agg.aggregator import RecordAggregator
from aws_kinesis_agg.deaggregator import deaggregate_records

request = json.load(sys.stdin)

deaggregated = []
for record in request["ours"]:
    lambda_record = {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "sequenceNumber": "1",
            "approximateArrivalTimestamp": 0,
            "partitionKey": record["pk"],
            "data": base64.b64encode(bytes.fromhex(record["data"])),
        }
    }
    deaggregated.append(
        [
            {
                "pk": user["kinesis"]["partitionKey"],
                "ehk": user["kinesis"].get("explicitHashKey"),
                "data": base64.b64decode(user["kinesis"]["data"]).hex(),
            }
            for user in deaggregate_records([lambda_record])
        ]
    )

aggregated = []
aggregator = RecordAggregator(max_size=16 * 1024)


def keep(agg_record):
    pk, ehk, data = agg_record.get_contents()
    aggregated.append({"pk": pk, "ehk": ehk, "data": data.hex()})


for record in request["records"]:
    full = aggregator.add_user_record(record["pk"], bytes.fromhex(record["data"]), record["ehk"])
    if full is not None:
        keep(full)
last = aggregator.clear_and_get()
if last is not None:
    keep(last)

json.dump({"deaggregated": deaggregated, "aggregated": aggregated}, sys.stdout)
