import {
  bodyErrors,
  commonErrors,
  errorResponse,
  json,
  jsonBody,
  nonNegativeInteger,
  ref,
} from './openapi-common.ts';

/** The consumer-group part of the OpenAPI document: offsets, lag, resets and pull members. */

const groupParam = { name: 'group', in: 'path', required: true, schema: ref('GroupName') };
const memberParam = { name: 'member', in: 'path', required: true, schema: ref('MemberId') };

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
        '200': json(ref('CommitOffsetsResponse'), 'Committed.'),
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
        '200': json(ref('Membership'), 'The member and its partitions.'),
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
        '200': json(ref('Membership'), "The member's partitions now."),
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
          'The member no longer holds a partition, or the offset would go backwards (LeaseLost).',
        ),
        ...bodyErrors,
        ...commonErrors,
      },
    },
  },
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
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['partition', 'offset'],
          properties: {
            partition: { type: 'integer', minimum: 0, maximum: 999 },
            offset: nonNegativeInteger,
            metadata: { type: 'string', maxLength: 4096 },
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
          required: ['partition', 'offset', 'metadata', 'highWatermark', 'lag'],
          properties: {
            partition: nonNegativeInteger,
            offset: nonNegativeInteger,
            metadata: { type: 'string' },
            generation: { type: 'integer' },
            committedAt: nonNegativeInteger,
            highWatermark: nonNegativeInteger,
            lag: nonNegativeInteger,
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
      memberId: ref('MemberId'),
      sessionTimeoutMs: { type: 'integer', minimum: 1000, maximum: 300000 },
    },
  },
  HeartbeatRequest: {
    type: 'object',
    additionalProperties: false,
    required: ['topic'],
    properties: {
      topic: ref('TopicName'),
      sessionTimeoutMs: { type: 'integer', minimum: 1000, maximum: 300000 },
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
