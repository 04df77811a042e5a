import { MESSAGE_DEFINITIONS } from '../messages/index.ts';
import { ZERO_UUID } from './primitives.ts';

/*
 * Interprets apache/kafka's message definitions (lib/kafka/messages/*.json) into schemas the codec
 * walks. A definition is a struct of fields; each field has
 *
 *   name              PascalCase upstream; here its first letter is lower-cased (ClientId -> clientId)
 *   type              a primitive (int8 int16 int32 int64 uint16 uint32 float64 bool uuid string bytes
 *                     records), "[]T" (array of a primitive or struct T), or a struct name: the struct's
 *                     `fields` inline, or one of the message's `commonStructs`
 *   versions          the message versions the field is in ("0+", "3-5", "7", "none")
 *   nullableVersions  the versions in which it may be null (strings, bytes, records, arrays, structs)
 *   taggedVersions    with `tag`: the versions in which it is an optional tagged field instead of a
 *                     positional one (only flexible versions have tagged fields)
 *   flexibleVersions  overrides the message's flexible versions for this one field's own encoding
 *                     (RequestHeader's ClientId is always a classic nullable string)
 *   default           the value when absent: a string ("-1", "0x7fffffff", "true", "null"), or a number
 *   ignorable         may be dropped silently when encoding a version that lacks it
 *
 * Fields `about`, `entityType`, `mapKey`, `zeroCopy` and the message's `listeners` and
 * `deprecatedVersions` are documentation for this codec and are not interpreted.
 */

/** An inclusive range of versions; `none` is { min: 0, max: -1 }. */
export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

export type PrimitiveType =
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint16'
  | 'uint32'
  | 'float64'
  | 'bool'
  | 'uuid'
  | 'string'
  | 'bytes'
  | 'records';

export type FieldType =
  | { readonly kind: 'primitive'; readonly name: PrimitiveType }
  | { readonly kind: 'struct'; readonly struct: StructSchema }
  | { readonly kind: 'array'; readonly element: FieldType };

export interface FieldSchema {
  /** The JavaScript property name: the upstream name with its first letter lower-cased. */
  readonly name: string;
  /** The upstream (PascalCase) name, for messages. */
  readonly wireName: string;
  readonly type: FieldType;
  readonly versions: VersionRange;
  readonly nullableVersions: VersionRange;
  readonly taggedVersions: VersionRange;
  readonly tag: number | undefined;
  readonly flexibleVersions: VersionRange | undefined;
  readonly ignorable: boolean;
  /** The upstream `default`, if any (interpreted by {@link defaultValue}). */
  readonly default: string | number | undefined;
}

export interface StructSchema {
  readonly name: string;
  readonly fields: readonly FieldSchema[];
}

export interface MessageSchema {
  /** Upstream name, e.g. `MetadataRequest`. */
  readonly name: string;
  readonly type: 'request' | 'response' | 'header';
  /** Undefined for the headers. */
  readonly apiKey: number | undefined;
  readonly validVersions: VersionRange;
  readonly flexibleVersions: VersionRange;
  /** Upstream marks its newest version as still changing; a server must not advertise it. */
  readonly latestVersionUnstable: boolean;
  readonly struct: StructSchema;
}

export const NO_VERSIONS: VersionRange = { min: 0, max: -1 };

/** Whether `version` is in `range`. */
export function inRange(range: VersionRange, version: number): boolean {
  return version >= range.min && version <= range.max;
}

/**
 * Parses a version range as the definitions write it.
 *
 * @example parseVersions('3+') // { min: 3, max: Infinity }
 * @example parseVersions('0-4') // { min: 0, max: 4 }
 */
export function parseVersions(text: string): VersionRange {
  if (text === 'none') return NO_VERSIONS;
  const m = /^(\d+)(?:(\+)|-(\d+))?$/.exec(text);
  if (m === null) throw new Error(`bad version range '${text}'`);
  const min = Number(m[1]);
  const max = m[2] === '+' ? Number.POSITIVE_INFINITY : m[3] !== undefined ? Number(m[3]) : min;
  if (max < min) throw new Error(`bad version range '${text}'`);
  return { min, max };
}

const PRIMITIVES: ReadonlySet<string> = new Set<PrimitiveType>([
  'int8',
  'int16',
  'int32',
  'int64',
  'uint16',
  'uint32',
  'float64',
  'bool',
  'uuid',
  'string',
  'bytes',
  'records',
]);

interface RawField {
  name: string;
  type: string;
  versions: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  flexibleVersions?: string;
  ignorable?: boolean;
  default?: string | number;
  fields?: RawField[];
}

interface RawMessage {
  name: string;
  type: 'request' | 'response' | 'header';
  apiKey?: number;
  validVersions: string;
  flexibleVersions: string;
  latestVersionUnstable?: boolean;
  fields: RawField[];
  commonStructs?: { name: string; fields: RawField[] }[];
}

function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/** Builds one message's schema from its parsed definition; throws on anything it does not know. */
export function compileMessage(definition: unknown): MessageSchema {
  const raw = definition as RawMessage;
  if (typeof raw?.name !== 'string' || !Array.isArray(raw.fields)) {
    throw new Error('a message definition needs a name and fields');
  }
  const common = new Map<string, RawField[]>();
  for (const s of raw.commonStructs ?? []) common.set(s.name, s.fields);
  const built = new Map<string, StructSchema>();

  const structOf = (typeName: string, inline: RawField[] | undefined, where: string): StructSchema => {
    const fields = inline ?? common.get(typeName);
    if (fields === undefined) throw new Error(`${where}: unknown type '${typeName}'`);
    if (inline === undefined) {
      const seen = built.get(typeName);
      if (seen !== undefined) return seen;
    }
    const struct = { name: typeName, fields: fields.map((f) => fieldOf(f, `${where}.${f.name}`)) };
    if (inline === undefined) built.set(typeName, struct);
    return struct;
  };

  const typeOf = (typeName: string, inline: RawField[] | undefined, where: string): FieldType => {
    if (typeName.startsWith('[]')) {
      return { kind: 'array', element: typeOf(typeName.slice(2), inline, where) };
    }
    if (PRIMITIVES.has(typeName)) {
      if (inline !== undefined) throw new Error(`${where}: a ${typeName} has no fields`);
      return { kind: 'primitive', name: typeName as PrimitiveType };
    }
    return { kind: 'struct', struct: structOf(typeName, inline, where) };
  };

  const fieldOf = (f: RawField, where: string): FieldSchema => {
    if ((f.tag === undefined) !== (f.taggedVersions === undefined)) {
      throw new Error(`${where}: tag and taggedVersions go together`);
    }
    return {
      name: lowerFirst(f.name),
      wireName: f.name,
      type: typeOf(f.type, f.fields, where),
      versions: parseVersions(f.versions),
      nullableVersions: f.nullableVersions === undefined ? NO_VERSIONS : parseVersions(f.nullableVersions),
      taggedVersions: f.taggedVersions === undefined ? NO_VERSIONS : parseVersions(f.taggedVersions),
      tag: f.tag,
      flexibleVersions: f.flexibleVersions === undefined ? undefined : parseVersions(f.flexibleVersions),
      ignorable: f.ignorable === true,
      default: f.default,
    };
  };

  return {
    name: raw.name,
    type: raw.type,
    apiKey: raw.apiKey,
    validVersions: parseVersions(raw.validVersions),
    flexibleVersions: parseVersions(raw.flexibleVersions),
    latestVersionUnstable: raw.latestVersionUnstable === true,
    struct: { name: raw.name, fields: raw.fields.map((f) => fieldOf(f, `${raw.name}.${f.name}`)) },
  };
}

/** A decoded or to-be-encoded value of some field type. */
export type KafkaValue = null | boolean | number | bigint | string | Uint8Array | KafkaValue[] | KafkaStruct;

/** A decoded struct: one property per field (camelCase), absent fields holding their defaults. */
export interface KafkaStruct {
  [field: string]: KafkaValue;
}

/**
 * The value a field has when a version lacks it or a tagged field is not sent, as Kafka's generated
 * code defines it: the `default` if given, else 0, false, "", empty bytes, an empty array, the
 * all-zero UUID, null records, or a struct of defaults. A fresh value on every call.
 */
export function defaultValue(field: FieldSchema): KafkaValue {
  const d = field.default;
  const type = field.type;
  if (d === 'null') return null;
  if (type.kind === 'array') return [];
  if (type.kind === 'struct') return defaultStruct(type.struct);
  switch (type.name) {
    case 'int8':
    case 'int16':
    case 'int32':
    case 'uint16':
    case 'uint32':
    case 'float64':
      return d === undefined ? 0 : Number(d);
    case 'int64':
      return d === undefined ? 0n : BigInt(d);
    case 'bool':
      return d === 'true';
    case 'string':
      return d === undefined ? '' : String(d);
    case 'uuid':
      return ZERO_UUID;
    case 'bytes':
      return new Uint8Array(0);
    case 'records':
      return null;
  }
}

/** A struct with every field at its default. */
export function defaultStruct(struct: StructSchema): KafkaStruct {
  const out: KafkaStruct = {};
  for (const f of struct.fields) out[f.name] = defaultValue(f);
  return out;
}

/** Every vendored message, keyed by name (e.g. `MetadataRequest`, `RequestHeader`). */
export const MESSAGES: ReadonlyMap<string, MessageSchema> = new Map(
  MESSAGE_DEFINITIONS.map((d) => {
    const schema = compileMessage(d);
    return [schema.name, schema] as const;
  }),
);

function byKey(type: 'request' | 'response'): ReadonlyMap<number, MessageSchema> {
  const out = new Map<number, MessageSchema>();
  for (const m of MESSAGES.values()) {
    if (m.type === type && m.apiKey !== undefined) out.set(m.apiKey, m);
  }
  return out;
}

/** Request schemas by API key. */
export const REQUESTS: ReadonlyMap<number, MessageSchema> = byKey('request');
/** Response schemas by API key. */
export const RESPONSES: ReadonlyMap<number, MessageSchema> = byKey('response');

function header(name: string): MessageSchema {
  const schema = MESSAGES.get(name);
  if (schema === undefined) throw new Error(`${name}.json is not vendored`);
  return schema;
}

export const REQUEST_HEADER: MessageSchema = header('RequestHeader');
export const RESPONSE_HEADER: MessageSchema = header('ResponseHeader');
