import { type FieldType, inRange, type StructSchema } from '../protocol/schema.ts';

/**
 * A response body reduced to the fields `version` has. Handlers build one body for every version
 * they serve (a Metadata partition always has its leaderEpoch); the codec refuses a non-default value
 * in a field the version lacks (as Kafka's generated code does, to catch lost information), so the
 * server drops those fields here, where losing them is the point: an older client asked for less.
 *
 * A null string where the version has no null (JoinGroup's protocolName before v7, after an error)
 * becomes '', what Kafka's brokers send there.
 *
 * @example fitToVersion(RESPONSES.get(3).struct, 6, body) // partitions without leaderEpoch (v7+)
 */
export function fitToVersion(struct: StructSchema, version: number, value: object): object {
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const field of struct.fields) {
    if (!(field.name in source) || !inRange(field.versions, version)) continue;
    const value = source[field.name];
    const stringWithoutNull =
      value === null &&
      field.type.kind === 'primitive' &&
      field.type.name === 'string' &&
      !inRange(field.nullableVersions, version);
    out[field.name] = stringWithoutNull ? '' : fitValue(field.type, version, value);
  }
  return out;
}

function fitValue(type: FieldType, version: number, value: unknown): unknown {
  if (value === null || value === undefined) return value;
  if (type.kind === 'struct') return fitToVersion(type.struct, version, value as object);
  if (type.kind === 'array' && Array.isArray(value))
    return value.map((v) => fitValue(type.element, version, v));
  return value;
}
