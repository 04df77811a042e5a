import type { KafkaApiHandler } from '../context.ts';
import { apiVersions } from './api-versions.ts';
import { createPartitions } from './create-partitions.ts';
import { createTopics } from './create-topics.ts';
import { deleteRecords } from './delete-records.ts';
import { deleteTopics } from './delete-topics.ts';
import { describeConfigs } from './describe-configs.ts';
import { fetch } from './fetch.ts';
import { initProducerId } from './init-producer-id.ts';
import { listOffsets } from './list-offsets.ts';
import { metadata } from './metadata.ts';
import { produce } from './produce.ts';

/**
 * Every API the Kafka door serves, one file each. ApiVersions lists exactly these; a client asking
 * for any other gets the treatment dispatch.ts describes. (The group APIs, FindCoordinator to
 * ListGroups, come with the group coordinator.)
 *
 * @example new Map(ALL_APIS.map((h) => [h.apiKey, h])).get(3) === metadata
 */
export const ALL_APIS: readonly KafkaApiHandler[] = [
  produce,
  fetch,
  listOffsets,
  metadata,
  apiVersions,
  createTopics,
  deleteTopics,
  deleteRecords,
  initProducerId,
  describeConfigs,
  createPartitions,
];
