import {
  bodyErrors,
  commonErrors,
  errorResponse,
  json,
  jsonBody,
  LIMITS,
  nonNegativeInteger,
  ref,
} from './openapi-common.ts';

/** The consumer-group part of the OpenAPI document: offsets, lag, resets and pull members. */

const groupParam = { name: 'group', in: 'path', required: true, schema: ref('GroupName') };
const memberParam = { name: 'member', in: 'path', required: true, schema: ref('MemberId') };

/** From a member's join or heartbeat to what it does next: heartbeat, commit what it holds, leave. */
const memberLinks = {
  heartbeat: {
    operationId: 'heartbeat',
    parameters: { group: '$request.path.group', member: '$response.body#/memberId' },
    requestBody: { topic: '$request.body#/topic' },
  },
  commit: {
    operationId: 'commitAsMember',
    parameters: { group: '$request.path.group', member: '$response.body#/memberId' },
    requestBody: {
      topic: '$request.body#/topic',
      offsets: [
        {
          partition: '$response.body#/assignments/0/partition',
          offset: 0,
          leaseCounter: '$response.body#/assignments/0/leaseCounter',
        },
      ],
    },
  },
  leave: {
    operationId: 'leaveGroup',
    parameters: {
      group: '$request.path.group',
      member: '$response.body#/memberId',
      topic: '$request.body#/topic',
    },
  },
} as const;

export const groupPaths = {
  '/groups': {
    get: {
      operationId: 'listGroups',
      summary: 'List consumer groups',
      responses: { '200': json(ref('GroupList'), 'Every group that committed offsets.'), ...commonErrors },
    },
  },
  '/groups/{group}/offsets': {
    parameters: [groupParam],
    put: {
      operationId: 'commitOffsets',
      summary: "Commit a group's offsets for a topic (all partitions or none)",
      requestBody: {
        required: true,
        content: { 'application/json': { schema: ref('CommitOffsetsRequest') } },
      },
      responses: {
        '200': {
          ...json(ref('CommitOffsetsResponse'), 'Committed.'),
          links: {
            describe: {
              operationId: 'describeGroupOffsets',
              parameters: { group: '$request.path.group', topic: '$request.body#/topic' },
            },
          },
        },
        '404': errorResponse('No such topic or partition.'),
        '409': errorResponse('A newer generation committed (StaleGeneration).'),
        ...bodyErrors,
        ...commonErrors,
      },
    },
    get: {
      operationId: 'describeGroupOffsets',
      summary: "A group's committed offsets for a topic, with lag",
      parameters: [{ name: 'topic', in: 'query', required: true, schema: ref('TopicName') }],
      responses: {
        '200': json(ref('GroupOffsetsResponse'), 'Committed offsets with lag per partition.'),
        '404': errorResponse('No such group or topic.'),
        ...commonErrors,
      },
    },
  },
  '/groups/{group}/offsets/reset': {
    parameters: [groupParam],
    post: {
      operationId: 'resetOffsets',
      summary: "Reset a group's offsets for a topic (kafka-consumer-groups --reset-offsets)",
      description:
        'Moves the committed offsets of every partition (or `partitions`) to `earliest` (the log start), `latest` ' +
        '(the high watermark), `{"timestamp": ms}` (the first offset whose record timestamp is at or after it; the ' +
        'high watermark when none is) or `{"offset": n}` (clamped to [log start, high watermark]). A group that never ' +
        'committed is created. Refused (409 GroupActive) while the group has pull members of the topic whose session ' +
        'has not expired, or an enabled consumer function on it, unless `force`. `dryRun` answers the same (refusal ' +
        'included) and changes nothing. Running consumers pick the new offsets up: a dispatcher goes on from them at ' +
        'its next commit; pull members lose the partitions for the moment of the reset (a commit under the old lease ' +
        'is refused with 409 OffsetReset) and get them back under a new leaseCounter at their next heartbeat.',
      requestBody: jsonBody('ResetOffsetsRequest'),
      responses: {
        '200': json(ref('ResetOffsetsResponse'), 'The new offsets (not applied when dryRun).'),
        '404': errorResponse('No such topic or partition.'),
        '409': errorResponse(
          'The group has active members or a running consumer function on the topic (GroupActive); ' +
            'stop them or pass force.',
        ),
        ...bodyErrors,
        ...commonErrors,
      },
    },
  },
  '/groups/{group}/members': {
    parameters: [groupParam],
    post: {
      operationId: 'joinGroup',
      summary: 'Join a pull-consumer group for a topic and get partitions',
      description:
        'Partitions are leased (as in the Kinesis Client Library): heartbeat every heartbeatIntervalMs to keep ' +
        'them. A member that stops heartbeating loses its partitions after sessionTimeoutMs (default 10 s); ' +
        'the others take them over at their next heartbeat. Members joining or leaving rebalance the assignment.',
      requestBody: jsonBody('JoinRequest'),
      responses: {
        '200': { ...json(ref('Membership'), 'The member and its partitions.'), links: memberLinks },
        '404': errorResponse('No such topic.'),
        ...bodyErrors,
        ...commonErrors,
      },
    },
  },
  '/groups/{group}/members/{member}/heartbeat': {
    parameters: [groupParam, memberParam],
    post: {
      operationId: 'heartbeat',
      summary: "Keep a member's partitions and learn about reassignments",
      requestBody: jsonBody('HeartbeatRequest'),
      responses: {
        '200': { ...json(ref('Membership'), "The member's partitions now."), links: memberLinks },
        '404': errorResponse('Unknown topic, or the member is unknown (UnknownMember): join again.'),
        ...bodyErrors,
        ...commonErrors,
      },
    },
  },
  '/groups/{group}/members/{member}': {
    parameters: [groupParam, memberParam],
    delete: {
      operationId: 'leaveGroup',
      summary: 'Leave the group; its partitions are free at once',
      parameters: [{ name: 'topic', in: 'query', required: true, schema: ref('TopicName') }],
      responses: {
        '204': { description: 'Left.' },
        '404': errorResponse('No such topic.'),
        ...commonErrors,
      },
    },
  },
  '/groups/{group}/members/{member}/offsets': {
    parameters: [groupParam, memberParam],
    put: {
      operationId: 'commitAsMember',
      summary: 'Commit offsets as a member (fenced by its leases)',
      requestBody: {
        required: true,
        content: { 'application/json': { schema: ref('MemberCommitRequest') } },
      },
      responses: {
        '200': json(ref('CommitOffsetsResponse'), 'Committed.'),
        '404': errorResponse('No such topic or partition.'),
        '409': errorResponse(
          'The member no longer holds a partition, or the offset would go backwards (LeaseLost); or a reset of ' +
            "the group's offsets took the partition (OffsetReset; the message names the new offsets): heartbeat " +
            'to get it again and consume from the committed offset.',
        ),
        ...bodyErrors,
        ...commonErrors,
      },
    },
  },
} as const;

/** A rule JSON Schema cannot state (uniqueItems compares whole items). */
const UNIQUE_PARTITIONS =
  'Each partition at most once (a partition listed twice: 400 InvalidArgument); each must be one the topic has ' +
  '(404 UnknownPartition).';

/** The engine counts UTF-16 code units; JSON Schema's maxLength counts characters (code points). */
const METADATA = {
  type: 'string',
  maxLength: 4096,
  description:
    'At most 4096 UTF-16 code units: a character outside the Basic Multilingual Plane (an emoji) counts as two ' +
    '(400 InvalidArgument).',
} as const;

const SESSION_TIMEOUT = {
  type: 'integer',
  minimum: 1000,
  maximum: 300000,
  description:
    "ms without a heartbeat after which the member's partitions go to others. Default 10000; every join and " +
    'heartbeat sets it anew (a heartbeat without it goes back to the default).',
} as const;

export const groupSchemas = {
  GroupName: {
    type: 'string',
    pattern: '^[a-zA-Z0-9._-]{1,255}$',
    'x-rule': 'must be 1-255 characters of [a-zA-Z0-9._-]',
  },
  CommitOffsetsRequest: {
    type: 'object',
    additionalProperties: false,
    required: ['topic', 'offsets'],
    properties: {
      topic: ref('TopicName'),
      offsets: {
        type: 'array',
        minItems: 1,
        maxItems: LIMITS.maxPartitionsPerCommit,
        description: UNIQUE_PARTITIONS,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['partition', 'offset'],
          properties: {
            partition: { type: 'integer', minimum: 0, maximum: 999 },
            offset: nonNegativeInteger,
            metadata: METADATA,
          },
        },
      },
      generation: { type: 'integer', minimum: 0, maximum: 2147483647 },
    },
  },
  CommitOffsetsResponse: {
    type: 'object',
    required: ['group', 'topic', 'offsets'],
    properties: {
      group: ref('GroupName'),
      topic: ref('TopicName'),
      offsets: { type: 'array', items: ref('RecordOffset') },
    },
  },
  GroupOffsetsResponse: {
    type: 'object',
    required: ['group', 'topic', 'offsets'],
    properties: {
      group: ref('GroupName'),
      topic: ref('TopicName'),
      offsets: {
        type: 'array',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['partition', 'offset', 'metadata', 'highWatermark', 'lagRecords', 'lagSeconds', 'lag'],
          properties: {
            partition: nonNegativeInteger,
            offset: nonNegativeInteger,
            metadata: { type: 'string' },
            generation: { type: 'integer' },
            committedAt: nonNegativeInteger,
            highWatermark: nonNegativeInteger,
            lagRecords: {
              ...nonNegativeInteger,
              description:
                'Records behind: highWatermark − offset (holes of a compacted log count), never below 0.',
            },
            lagSeconds: {
              type: 'number',
              minimum: 0,
              description:
                'Age in seconds (ms precision) of the oldest record the group has not consumed, by the time it ' +
                'was appended (not the producer timestamp): the record at `offset`, or the first after it, or ' +
                "the log start's when `offset` is below it. Measured per batch. 0 when caught up.",
            },
            lag: { ...nonNegativeInteger, description: 'The same as lagRecords.' },
          },
        },
      },
    },
  },
  ResetOffsetsRequest: {
    type: 'object',
    additionalProperties: false,
    required: ['topic', 'to'],
    properties: {
      topic: ref('TopicName'),
      to: {
        'x-rule': `must be "earliest", "latest", {"timestamp": ms} or {"offset": n} (one of them)`,
        anyOf: [
          { enum: ['earliest', 'latest'] },
          {
            type: 'object',
            additionalProperties: false,
            required: ['timestamp'],
            properties: { timestamp: { ...nonNegativeInteger, description: 'ms since the epoch' } },
          },
          {
            type: 'object',
            additionalProperties: false,
            required: ['offset'],
            properties: { offset: nonNegativeInteger },
          },
        ],
      },
      partitions: {
        type: 'array',
        minItems: 1,
        maxItems: 1000,
        uniqueItems: true,
        items: { type: 'integer', minimum: 0, maximum: 999 },
        description: 'The partitions to reset. Default: every partition of the topic.',
      },
      force: {
        type: 'boolean',
        description: 'Reset even while the group has active members or a running consumer function.',
      },
      dryRun: { type: 'boolean', description: 'Compute the new offsets; change nothing.' },
    },
  },
  ResetOffsetsResponse: {
    type: 'object',
    required: ['group', 'topic', 'dryRun', 'offsets'],
    properties: {
      group: ref('GroupName'),
      topic: ref('TopicName'),
      dryRun: { type: 'boolean' },
      offsets: {
        type: 'array',
        items: {
          type: 'object',
          required: ['partition', 'previousOffset', 'offset'],
          properties: {
            partition: nonNegativeInteger,
            previousOffset: {
              anyOf: [nonNegativeInteger, { type: 'null' }],
              description: 'The committed offset before; null when there was none.',
            },
            offset: nonNegativeInteger,
          },
        },
      },
    },
  },
  GroupList: {
    type: 'object',
    required: ['groups'],
    properties: { groups: { type: 'array', items: ref('GroupName') } },
  },
  MemberId: {
    type: 'string',
    pattern: '^[a-zA-Z0-9._:-]{1,128}$',
    'x-rule': 'must be 1-128 characters of [a-zA-Z0-9._:-]',
  },
  JoinRequest: {
    type: 'object',
    additionalProperties: false,
    required: ['topic'],
    properties: {
      topic: ref('TopicName'),
      memberId: { ...ref('MemberId'), description: 'Default: a new random id.' },
      sessionTimeoutMs: SESSION_TIMEOUT,
    },
  },
  HeartbeatRequest: {
    type: 'object',
    additionalProperties: false,
    required: ['topic'],
    properties: {
      topic: ref('TopicName'),
      sessionTimeoutMs: SESSION_TIMEOUT,
    },
  },
  Membership: {
    type: 'object',
    required: ['memberId', 'sessionTimeoutMs', 'heartbeatIntervalMs', 'assignments'],
    properties: {
      memberId: ref('MemberId'),
      sessionTimeoutMs: { type: 'integer' },
      heartbeatIntervalMs: { type: 'integer' },
      assignments: {
        type: 'array',
        items: {
          type: 'object',
          required: ['partition', 'leaseCounter'],
          properties: { partition: nonNegativeInteger, leaseCounter: nonNegativeInteger },
        },
      },
    },
  },
  MemberCommitRequest: {
    type: 'object',
    additionalProperties: false,
    required: ['topic', 'offsets'],
    properties: {
      topic: ref('TopicName'),
      offsets: {
        type: 'array',
        minItems: 1,
        maxItems: 50,
        description: UNIQUE_PARTITIONS,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['partition', 'offset'],
          properties: {
            partition: { type: 'integer', minimum: 0, maximum: 999 },
            offset: nonNegativeInteger,
            metadata: { type: 'string', maxLength: 4096 },
            leaseCounter: {
              ...nonNegativeInteger,
              description: 'From the assignment; fences the commit.',
            },
          },
        },
      },
    },
  },
} as const;
