"""schemathesis hooks for scripts/api-contract.sh: what schemathesis cannot know from the document.

1. Some rules depend on state the document cannot know when a request is generated (the topic's
   partition count, compaction and maxRecordBytes; which producer ids were issued) or cannot be written in
   JSON Schema (a partition listed twice in an array of objects). docs/openapi.json states each of them in
   prose, with its status and error code. A request that breaks only such a rule is valid by the schema,
   so schemathesis reports the refusal as "Schema-valid request rejected" (ST202). `filter_failure`
   accepts exactly those refusals: the operation, the status, the error code and the message must all
   match one rule in DOCUMENTED_REFUSALS. Anything else the server refuses stays a failure.
2. A pull member is scoped by a topic named in the body, which schemathesis does not see (ST302, below).
3. `map_case` makes half of the valid produce calls fit any topic, so stored records get fetched.
"""

import atexit
import collections
import json
import re
import sys
import zlib

import schemathesis
from schemathesis import GenerationMode

PRODUCE = "POST /topics/{topic}/records"
CREATE_TOPIC = "POST /topics"
# Topics generated for the contract run have at most this many partitions: joining a group on a topic of
# hundreds of partitions takes 10-20 s on DynamoDB Local on two busy cores (one lease per partition), near
# the 29 s response limit, which would make CI flaky. The 1000-partition bound itself is checked by
# test/integration/topics.test.ts (a 1000-partition topic is created, 1001 refused).
MAX_GENERATED_PARTITIONS = 64
COMMIT = "PUT /groups/{group}/offsets"
MEMBER_COMMIT = "PUT /groups/{group}/members/{member}/offsets"

# (operation, status, error code, message pattern): each stated in functions/api/openapi*.ts.
DOCUMENTED_REFUSALS = [
    # ProduceRecord.partition: "Must be below the topic's partition count".
    (PRODUCE, 400, "InvalidArgument", r"^records\[\d+\]\.partition must be an integer in \[0, \d+\]"),
    # ProduceRecord: "on a compacted topic every record needs a key".
    (PRODUCE, 400, "InvalidArgument", r"^records\[\d+\] has no key; topic '[^']*' is compacted"),
    # ProduceRecord: "a record larger than the topic's maxRecordBytes".
    (PRODUCE, 413, "RecordTooLarge", r"^records\[\d+\] is \d+ bytes; topic '[^']*' accepts at most \d+$"),
    # ProduceRequest: "producerId and producerEpoch as issued by POST /producers".
    (PRODUCE, 400, "UnknownProducerId", r""),
    # ProduceRequest: "a sequence for exactly the partitions the call writes to".
    (
        PRODUCE,
        400,
        "InvalidArgument",
        r"^(producer sequence is one number but the call writes to partitions"
        r"|producer\.sequences\[\d+\] names a partition this call does not write to"
        r"|producer\.sequences must give a sequence for partition \d+)",
    ),
    # The segment body: "checked (CRC32C, structure, ...)": bytes a generator makes are not a segment.
    (PRODUCE, 400, "InvalidArgument", r"^(the body is not a valid segment: |body is required$)"),
    # The producer headers: "All three producer headers or none."
    (PRODUCE, 400, "InvalidArgument", r"^an idempotent binary produce needs all of streambed-producer-id"),
    # The producer headers: "with a JSON body none".
    (PRODUCE, 400, "InvalidArgument", r"^streambed-producer-id, .* go with a application/vnd\.streambed\.segment body"),
    # CommitOffsetsRequest.offsets and MemberCommitRequest.offsets: "Each partition at most once".
    (COMMIT, 400, "InvalidArgument", r"^offsets\[\d+\]\.partition \d+ appears twice$"),
    (MEMBER_COMMIT, 400, "InvalidArgument", r"^offsets\[\d+\]\.partition \d+ appears twice$"),
    # CommitOffsetsRequest metadata: "At most 4096 UTF-16 code units".
    (COMMIT, 400, "InvalidArgument", r"^offsets\[\d+\]\.metadata must be a string of at most 4096 characters$"),
]


def _error(response):
    try:
        error = json.loads(response.content)["error"]
        return error["code"], error["message"]
    except (ValueError, KeyError, TypeError):
        return None, None


# A pull member belongs to a group for one topic, which these operations name in the body. schemathesis
# takes the group and member path parameters (from a join's links) for the whole resource, so a follow-up
# that names another topic, or partitions the topic does not have, is rightly 404 and would be reported
# as "Created resource not found" (ST302). (Disabling the check per operation in schemathesis.toml does
# not work with `--checks all`, which takes precedence.)
TOPIC_SCOPED_MEMBER_OPERATIONS = {"POST /groups/{group}/members/{member}/heartbeat", MEMBER_COMMIT}
NOT_THIS_MEMBER = {"UnknownMember", "UnknownTopic", "UnknownPartition"}


# How often each explanation was used, shown at the end of the run.
accepted = collections.Counter()


@atexit.register
def _summary():
    if accepted:
        print("Accepted as documented (scripts/api-contract/hooks.py):", file=sys.stderr)
        for (check, operation, status, code), count in sorted(accepted.items()):
            print(f"  {count:5d} × {check} {operation} → {status} {code}", file=sys.stderr)


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """Keeps every failure but those explained above."""
    code, message = _error(response)
    label = case.operation.label
    explained = False
    if failure.code == "ST302":
        explained = label in TOPIC_SCOPED_MEMBER_OPERATIONS and code in NOT_THIS_MEMBER
    elif failure.code == "ST202":
        explained = any(
            label == operation
            and response.status_code == status
            and code == error_code
            and re.search(pattern, message)
            for operation, status, error_code, pattern in DOCUMENTED_REFUSALS
        )
    if explained:
        accepted[(failure.code, label, response.status_code, code)] += 1
    return not explained


@schemathesis.hook
def map_case(context, case):
    """Half of the valid produce calls made to fit any topic, so records get stored and fetched.

    A generated producer id was never issued and a generated partition is mostly one the topic does
    not have: left alone, nearly every valid produce call is refused as documented and the records'
    way through the log (fetch, its response schema, the links) is never tested. Half of the valid
    calls (chosen by a checksum of the body, so runs stay reproducible) lose the producer fields and
    write to partition 0; the other half keep testing the refusals.
    """
    meta = case.meta
    if (
        case.operation.label == CREATE_TOPIC
        and meta is not None
        and meta.generation.mode == GenerationMode.POSITIVE
        and isinstance(case.body, dict)
        and isinstance(case.body.get("partitions"), int)
        and case.body["partitions"] > MAX_GENERATED_PARTITIONS
    ):
        case.body = {**case.body, "partitions": 1 + case.body["partitions"] % MAX_GENERATED_PARTITIONS}
        return case
    if (
        case.operation.label != PRODUCE
        or meta is None
        or meta.generation.mode != GenerationMode.POSITIVE
        or not isinstance(case.body, dict)
        or not isinstance(case.body.get("records"), list)
        or zlib.crc32(json.dumps(case.body, sort_keys=True, default=str).encode()) % 2
    ):
        return case
    body = {k: v for k, v in case.body.items() if k not in ("producerId", "producerEpoch", "sequence")}
    body["records"] = [
        {**record, "partition": 0} if isinstance(record, dict) and "partition" in record else record
        for record in body["records"]
    ]
    case.body = body
    return case
