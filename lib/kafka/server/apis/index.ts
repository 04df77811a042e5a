import type { KafkaApiHandler } from '../context.ts';
import { apiVersions } from './api-versions.ts';
import { createPartitions } from './create-partitions.ts';
import { createTopics } from './create-topics.ts';
import { deleteRecords } from './delete-records.ts';
import { deleteTopics } from './delete-topics.ts';
import { describeConfigs } from './describe-configs.ts';
import { describeGroups } from './describe-groups.ts';
import { fetch } from './fetch.ts';
import { findCoordinator } from './find-coordinator.ts';
import { heartbeat } from './heartbeat.ts';
import { initProducerId } from './init-producer-id.ts';
import { joinGroup } from './join-group.ts';
import { leaveGroup } from './leave-group.ts';
import { listGroups } from './list-groups.ts';
import { listOffsets } from './list-offsets.ts';
import { metadata } from './metadata.ts';
import { offsetCommit } from './offset-commit.ts';
import { offsetFetch } from './offset-fetch.ts';
import { produce } from './produce.ts';
import { saslAuthenticate } from './sasl-authenticate.ts';
import { saslHandshake } from './sasl-handshake.ts';
import { syncGroup } from './sync-group.ts';

/**
 * Every API the Kafka door serves, one file each. ApiVersions lists exactly these; a client asking
 * for any other gets the treatment dispatch.ts describes. The group APIs (OffsetCommit to ListGroups)
 * are served when the server has a group coordinator (server.ts `groups`), and left out otherwise.
 *
 * @example new Map(ALL_APIS.map((h) => [h.apiKey, h])).get(3) === metadata
 */
export const ALL_APIS: readonly KafkaApiHandler[] = [
  produce,
  fetch,
  listOffsets,
  metadata,
  offsetCommit,
  offsetFetch,
  findCoordinator,
  joinGroup,
  heartbeat,
  leaveGroup,
  syncGroup,
  describeGroups,
  listGroups,
  apiVersions,
  createTopics,
  deleteTopics,
  deleteRecords,
  initProducerId,
  describeConfigs,
  createPartitions,
];

/** SaslHandshake and SaslAuthenticate: served (and listed) only when the server requires authentication. */
export const SASL_APIS: readonly KafkaApiHandler[] = [saslHandshake, saslAuthenticate];
