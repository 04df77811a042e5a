import { randomBytes } from 'node:crypto';

/**
 * Segment objects live under a per-topic prefix, so S3 lifecycle rules and sweepers can act on
 * one topic (any incarnation: `topics/<name>/`) or one incarnation (`topics/<name>/<topicId>/`):
 *
 *   topics/<topic name>/<topic id>/<object id>.sbs
 *
 * Object ids start with the creation time in base 36 (12 chars, sortable) then 16 random hex chars.
 */
export function topicPrefix(topic: string, topicId: string): string {
  return `topics/${topic}/${topicId}/`;
}

export function segmentKey(topic: string, topicId: string, objectId: string): string {
  return `${topicPrefix(topic, topicId)}${objectId}.sbs`;
}

/** @example newObjectId(Date.now()) // '000mhx7s2kq0-5f1c0a9b3e2d4c1a' */
export function newObjectId(now: number): string {
  return `${now.toString(36).padStart(12, '0')}-${randomBytes(8).toString('hex')}`;
}

/** The object id of a segment key, or undefined when the key is not a segment of that prefix. */
export function objectIdOf(prefix: string, key: string): string | undefined {
  if (!key.startsWith(prefix) || !key.endsWith('.sbs')) return undefined;
  const id = key.slice(prefix.length, -'.sbs'.length);
  return id.includes('/') ? undefined : id;
}

/** A new random topic id (changes when a topic is deleted and created again). */
export function newTopicId(): string {
  return randomBytes(10).toString('hex');
}
