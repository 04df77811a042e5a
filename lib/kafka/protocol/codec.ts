import { InvalidArgumentError } from '../../core/errors.ts';
import { describe, KafkaReader, KafkaWriter } from './primitives.ts';
import {
  defaultValue,
  type FieldSchema,
  type FieldType,
  inRange,
  type KafkaStruct,
  type KafkaValue,
  type MessageSchema,
  type PrimitiveType,
  type StructSchema,
} from './schema.ts';

/*
 * A struct at version v is its fields in definition order, each written only if v is in the
 * field's `versions`, then, in flexible versions, its tagged fields:
 *
 *   field_1 ... field_n        positional fields (those of version v not tagged at v), no separators
 *   uvarint count              flexible versions only: how many tagged fields follow
 *   count x { uvarint tag, uvarint size, size bytes }
 *                              tagged fields in ascending tag order; one is sent only when its value
 *                              differs from its default; unknown tags are skipped when decoding
 *
 * In flexible versions strings, bytes, records and arrays use the compact forms (primitives.ts).
 * A nullable struct field is preceded by an int8: -1 for null, 1 for present. The same rules apply
 * at every depth, so a nested struct (array element or field) carries its own tagged fields.
 */

interface Context {
  readonly message: string;
  readonly version: number;
  readonly flexible: boolean;
}

/** Where a value sits, for messages: `MetadataResponse v12: topics[3].partitions[0].leaderId`. */
function at(ctx: Context, path: string): string {
  return `${ctx.message} v${ctx.version}: ${path}`;
}

function isDefault(field: FieldSchema, value: KafkaValue): boolean {
  return deepEqual(value, defaultValue(field));
}

/** Structural equality of two values (bytes by content, structs by their fields). */
export function deepEqual(a: KafkaValue | undefined, b: KafkaValue | undefined): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.from(a).equals(b);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]))
    );
  }
  if (typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) if (!deepEqual(a[k], b[k])) return false;
    return true;
  }
  return false;
}

/** Encodes `value` as `schema` at `version` (without any header). */
export function encodeMessage(schema: MessageSchema, version: number, value: object): Uint8Array {
  const w = new KafkaWriter();
  writeMessage(w, schema, version, value);
  return w.finish();
}

/** Appends `value` encoded as `schema` at `version` to `w`. */
export function writeMessage(w: KafkaWriter, schema: MessageSchema, version: number, value: object): void {
  const ctx: Context = {
    message: schema.name,
    version,
    flexible: inRange(schema.flexibleVersions, version),
  };
  // A message carrying large bytes (a Fetch response's records) gets its buffer at once, not by doublings.
  const payload = bytesWithin(value, 0);
  if (payload >= LARGE_PAYLOAD_BYTES) w.ensure(payload + 4096);
  writeStruct(w, schema.struct, value, ctx, '');
}

/** From how many bytes of bytes/records fields a message's buffer is sized up front. */
const LARGE_PAYLOAD_BYTES = 64 * 1024;

/** The bytes of the Uint8Arrays in a value (its structs and arrays, a few levels deep). */
function bytesWithin(value: unknown, depth: number): number {
  if (value instanceof Uint8Array) return value.length;
  if (depth > 6 || value === null || typeof value !== 'object') return 0;
  let n = 0;
  if (Array.isArray(value)) {
    for (const v of value) n += bytesWithin(v, depth + 1);
  } else {
    for (const v of Object.values(value)) n += bytesWithin(v, depth + 1);
  }
  return n;
}

function writeStruct(w: KafkaWriter, struct: StructSchema, value: unknown, ctx: Context, path: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw new InvalidArgumentError(
      `${at(ctx, path || '(message)')} must be an object, got ${describe(value)}`,
    );
  }
  const obj = value as Readonly<Record<string, KafkaValue | undefined>>;
  const tagged: { tag: number; field: FieldSchema; value: KafkaValue }[] = [];
  for (const field of struct.fields) {
    const fieldPath = path === '' ? field.name : `${path}.${field.name}`;
    const given = obj[field.name];
    if (!inRange(field.versions, ctx.version)) {
      if (given !== undefined && !field.ignorable && !isDefault(field, given)) {
        throw new InvalidArgumentError(
          `${at(ctx, fieldPath)} is not in this version and is not ignorable, yet has the non-default value ${describe(given)}`,
        );
      }
      continue;
    }
    const v = given === undefined ? defaultValue(field) : given;
    if (ctx.flexible && inRange(field.taggedVersions, ctx.version)) {
      if (!isDefault(field, v)) tagged.push({ tag: field.tag as number, field, value: v });
      continue;
    }
    writeField(w, field, v, ctx, fieldPath);
  }
  if (ctx.flexible) {
    tagged.sort((a, b) => a.tag - b.tag);
    w.uvarint(tagged.length);
    for (const t of tagged) {
      const inner = new KafkaWriter(64);
      writeField(inner, t.field, t.value, ctx, path === '' ? t.field.name : `${path}.${t.field.name}`);
      const bytes = inner.finish();
      w.uvarint(t.tag);
      w.uvarint(bytes.length);
      w.raw(bytes);
    }
  }
}

function fieldIsCompact(field: FieldSchema, ctx: Context): boolean {
  return field.flexibleVersions === undefined ? ctx.flexible : inRange(field.flexibleVersions, ctx.version);
}

function writeField(w: KafkaWriter, field: FieldSchema, v: KafkaValue, ctx: Context, path: string): void {
  const nullable = inRange(field.nullableVersions, ctx.version);
  if (v === null && !nullable) {
    throw new InvalidArgumentError(`${at(ctx, path)} is null, but is not nullable in this version`);
  }
  const type = field.type;
  if (type.kind === 'struct' && nullable) {
    w.int8(v === null ? -1 : 1);
    if (v === null) return;
  }
  writeValue(w, type, v, fieldIsCompact(field, ctx), ctx, path);
}

function writeValue(
  w: KafkaWriter,
  type: FieldType,
  v: KafkaValue,
  compact: boolean,
  ctx: Context,
  path: string,
): void {
  if (type.kind === 'struct') {
    writeStruct(w, type.struct, v, ctx, path);
    return;
  }
  if (type.kind === 'array') {
    if (v === null) {
      w.length(-1, compact, 4, at(ctx, path));
      return;
    }
    if (!Array.isArray(v))
      throw new InvalidArgumentError(`${at(ctx, path)} must be an array, got ${describe(v)}`);
    w.length(v.length, compact, 4, at(ctx, path));
    for (let i = 0; i < v.length; i++) {
      const element = v[i] as KafkaValue;
      if (element === null) throw new InvalidArgumentError(`${at(ctx, `${path}[${i}]`)} is null`);
      writeValue(w, type.element, element, compact, ctx, `${path}[${i}]`);
    }
    return;
  }
  writePrimitive(w, type.name, v, compact, at(ctx, path));
}

function writePrimitive(
  w: KafkaWriter,
  type: PrimitiveType,
  v: KafkaValue,
  compact: boolean,
  what: string,
): void {
  switch (type) {
    case 'int8':
      w.int8(v as number, what);
      return;
    case 'int16':
      w.int16(v as number, what);
      return;
    case 'int32':
      w.int32(v as number, what);
      return;
    case 'int64':
      w.int64(v as bigint, what);
      return;
    case 'uint16':
      w.uint16(v as number, what);
      return;
    case 'uint32':
      w.uint32(v as number, what);
      return;
    case 'float64':
      w.float64(v as number, what);
      return;
    case 'bool':
      w.bool(v as boolean, what);
      return;
    case 'uuid':
      w.uuid(v as string, what);
      return;
    case 'string':
      w.string(v as string | null, compact, what);
      return;
    case 'bytes':
    case 'records':
      w.bytesField(v as Uint8Array | null, compact, what);
      return;
  }
}

/**
 * Decodes `schema` at `version` from `r`, leaving `r` just past it. Fields the version lacks, and
 * tagged fields not sent, hold their defaults.
 */
export function readMessage(r: KafkaReader, schema: MessageSchema, version: number): KafkaStruct {
  const ctx: Context = {
    message: schema.name,
    version,
    flexible: inRange(schema.flexibleVersions, version),
  };
  return readStruct(r, schema.struct, ctx, '');
}

/** Decodes exactly `bytes` as `schema` at `version`; bytes left over are an error. */
export function decodeMessage(schema: MessageSchema, version: number, bytes: Uint8Array): KafkaStruct {
  const r = new KafkaReader(bytes);
  const value = readMessage(r, schema, version);
  if (r.remaining !== 0) {
    throw r.fail(`${schema.name} v${version}: ${r.remaining} bytes left over after the message`);
  }
  return value;
}

function readStruct(r: KafkaReader, struct: StructSchema, ctx: Context, path: string): KafkaStruct {
  const out: KafkaStruct = {};
  let taggedHere = false;
  for (const field of struct.fields) {
    if (!inRange(field.versions, ctx.version)) {
      out[field.name] = defaultValue(field);
      continue;
    }
    if (ctx.flexible && inRange(field.taggedVersions, ctx.version)) {
      out[field.name] = defaultValue(field);
      taggedHere = true;
      continue;
    }
    out[field.name] = readField(r, field, ctx, path === '' ? field.name : `${path}.${field.name}`);
  }
  if (ctx.flexible) {
    const where = at(ctx, `${path || '(message)'} tagged fields`);
    const count = r.uvarint(where);
    for (let i = 0; i < count; i++) {
      const tag = r.uvarint(where);
      const size = r.uvarint(where);
      const start = r.take(size, where);
      const field = taggedHere
        ? struct.fields.find(
            (f) =>
              f.tag === tag && inRange(f.versions, ctx.version) && inRange(f.taggedVersions, ctx.version),
          )
        : undefined;
      if (field === undefined) continue;
      const inner = new KafkaReader(r.bytes, start, start + size, r.fail);
      const fieldPath = path === '' ? field.name : `${path}.${field.name}`;
      out[field.name] = readField(inner, field, ctx, fieldPath);
      if (inner.remaining !== 0) {
        throw r.fail(`${at(ctx, fieldPath)}: tagged field ${tag} has ${inner.remaining} bytes left over`);
      }
    }
  }
  return out;
}

function readField(r: KafkaReader, field: FieldSchema, ctx: Context, path: string): KafkaValue {
  const nullable = inRange(field.nullableVersions, ctx.version);
  const type = field.type;
  if (type.kind === 'struct' && nullable) {
    const marker = r.int8(at(ctx, path));
    if (marker < 0) return null;
  }
  return readValue(r, type, fieldIsCompact(field, ctx), nullable, ctx, path);
}

function readValue(
  r: KafkaReader,
  type: FieldType,
  compact: boolean,
  nullable: boolean,
  ctx: Context,
  path: string,
): KafkaValue {
  if (type.kind === 'struct') return readStruct(r, type.struct, ctx, path);
  if (type.kind === 'array') {
    const n = r.arrayLength(at(ctx, path), compact);
    if (n === -1) {
      if (!nullable) throw r.fail(`${at(ctx, path)}: null where an array is required`);
      return null;
    }
    const out: KafkaValue[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = readValue(r, type.element, compact, false, ctx, `${path}[${i}]`);
    return out;
  }
  const what = at(ctx, path);
  switch (type.name) {
    case 'int8':
      return r.int8(what);
    case 'int16':
      return r.int16(what);
    case 'int32':
      return r.int32(what);
    case 'int64':
      return r.int64(what);
    case 'uint16':
      return r.uint16(what);
    case 'uint32':
      return r.uint32(what);
    case 'float64':
      return r.float64(what);
    case 'bool':
      return r.bool(what);
    case 'uuid':
      return r.uuid(what);
    case 'string':
      return r.string(what, compact, nullable);
    case 'bytes':
      return r.bytesField(what, compact, nullable);
    case 'records':
      // Not copied: a records field is decoded (record-batch.ts), never kept, and the message is the
      // decoder's own (a frame the connection received).
      return r.bytesField(what, compact, nullable, true);
  }
}
