import type { KafkaApiHandler } from '../context.ts';
import { apiVersions } from './api-versions.ts';
import { metadata } from './metadata.ts';

/**
 * Every API the Kafka door serves, one file each. ApiVersions lists exactly these; a client asking
 * for any other gets the treatment dispatch.ts describes.
 *
 * @example new Map(ALL_APIS.map((h) => [h.apiKey, h])).get(3) === metadata
 */
export const ALL_APIS: readonly KafkaApiHandler[] = [apiVersions, metadata];
