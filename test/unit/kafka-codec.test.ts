import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { InvalidArgumentError } from '../../lib/core/errors.ts';
import {
  ApiKey,
  decodeRequest,
  decodeRequestBody,
  decodeRequestHeader,
  decodeResponse,
  decodeResponseBody,
  encodeRecordBatch,
  encodeRequest,
  encodeRequestBody,
  encodeResponse,
  encodeResponseBody,
  FrameSplitter,
  frame,
  type KafkaStruct,
  type KafkaValue,
  MalformedKafkaMessageError,
  type MessageSchema,
  REQUESTS,
  RESPONSES,
  requestHeaderVersion,
  responseHeaderVersion,
  SUPPORTED_APIS,
  UnsupportedKafkaVersionError,
  ZERO_UUID,
} from '../../lib/kafka/index.ts';
import { decodeMessage, encodeMessage } from '../../lib/kafka/protocol/codec.ts';
import {
  compileMessage,
  defaultValue,
  type FieldType,
  inRange,
  MESSAGES,
  parseVersions,
  type StructSchema,
} from '../../lib/kafka/protocol/schema.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const str = (s: string): string => toHex(new TextEncoder().encode(s));

/**
 * A sample value for every field of `struct` at `version`, built from the schema alone: fields the
 * version lacks hold their defaults (what decoding yields); the rest get distinct non-default values,
 * or null where `nulls` is set and the field is nullable at this version.
 */
function sample(struct: StructSchema, version: number, nulls: boolean, seed: { n: number }): KafkaStruct {
  const out: KafkaStruct = {};
  for (const field of struct.fields) {
    if (!inRange(field.versions, version)) {
      out[field.name] = defaultValue(field);
    } else if (nulls && inRange(field.nullableVersions, version)) {
      out[field.name] = null;
    } else {
      out[field.name] = sampleOf(field.type, version, nulls, seed);
    }
  }
  return out;
}

const RECORDS = encodeRecordBatch({
  baseOffset: 0n,
  compression: 'none',
  baseTimestamp: 1_700_000_000_000n,
  maxTimestamp: 1_700_000_000_000n,
  records: [{ timestampDelta: 0, offsetDelta: 0, key: null, value: Uint8Array.of(1, 2, 3), headers: [] }],
});

function sampleOf(type: FieldType, version: number, nulls: boolean, seed: { n: number }): KafkaValue {
  const n = ++seed.n;
  if (type.kind === 'struct') return sample(type.struct, version, nulls, seed);
  if (type.kind === 'array')
    return [sampleOf(type.element, version, nulls, seed), sampleOf(type.element, version, nulls, seed)];
  switch (type.name) {
    case 'int8':
      return (n % 100) + 1;
    case 'int16':
      return n + 300;
    case 'int32':
      return n * 100_003;
    case 'uint16':
      return 40_000 + n;
    case 'uint32':
      return 3_000_000_000 + n;
    case 'int64':
      return 2n ** 40n + BigInt(n);
    case 'float64':
      return n + 0.5;
    case 'bool':
      return true;
    case 'uuid':
      return Buffer.alloc(16, n).toString('base64url');
    case 'string':
      return `s${n}-é`;
    case 'bytes':
      return Uint8Array.of(n & 0xff, 0, 255);
    case 'records':
      return RECORDS;
  }
}

const bodies: { kind: 'request' | 'response'; schema: MessageSchema }[] = [
  ...[...REQUESTS.values()].map((schema) => ({ kind: 'request' as const, schema })),
  ...[...RESPONSES.values()].map((schema) => ({ kind: 'response' as const, schema })),
];

describe('Kafka message definitions', () => {
  test('all 22 APIs are vendored with both halves, and ApiKey matches their apiKey', () => {
    assert.equal(SUPPORTED_APIS.length, 22);
    for (const [name, key] of Object.entries(ApiKey)) {
      assert.equal(REQUESTS.get(key)?.name, `${name}Request`);
      assert.equal(RESPONSES.get(key)?.name, `${name}Response`);
    }
    assert.equal(MESSAGES.size, 46);
  });

  test('version ranges parse as the definitions write them', () => {
    assert.deepEqual(parseVersions('3+'), { min: 3, max: Number.POSITIVE_INFINITY });
    assert.deepEqual(parseVersions('0-4'), { min: 0, max: 4 });
    assert.deepEqual(parseVersions('7'), { min: 7, max: 7 });
    assert.ok(!inRange(parseVersions('none'), 0));
    assert.throws(() => parseVersions('4-2'));
  });

  test('the ranges cover what kafkajs 2.x, librdkafka 2.x and the Java 4.x client negotiate', () => {
    const max = (key: number) => SUPPORTED_APIS.find((a) => a.apiKey === key)?.maxVersion;
    assert.equal(max(ApiKey.ApiVersions), 4);
    assert.equal(max(ApiKey.Metadata), 12);
    assert.equal(max(ApiKey.Produce), 11);
    assert.equal(max(ApiKey.Fetch), 17);
    for (const api of SUPPORTED_APIS) assert.equal(api.minVersion, 0, api.name);
  });
});

describe('every vendored message round-trips at every version', () => {
  for (const { kind, schema } of bodies) {
    const apiKey = schema.apiKey as number;
    const range = SUPPORTED_APIS.find((a) => a.apiKey === apiKey);
    assert.ok(range);
    test(`${schema.name} v${range.minVersion}-${range.maxVersion}`, () => {
      for (let v = range.minVersion; v <= range.maxVersion; v++) {
        for (const nulls of [false, true]) {
          const value = sample(schema.struct, v, nulls, { n: 0 });
          const encode = kind === 'request' ? encodeRequestBody : encodeResponseBody;
          const decode = kind === 'request' ? decodeRequestBody : decodeResponseBody;
          const bytes = encode(apiKey, v, value);
          const back = decode(apiKey, v, bytes);
          assert.deepStrictEqual(back, value, `${schema.name} v${v}${nulls ? ' (nulls)' : ''}`);
          assert.equal(toHex(encode(apiKey, v, back)), toHex(bytes));
        }
      }
    });
  }

  test('whole requests and responses, headers included, at the lowest and highest versions', () => {
    for (const api of SUPPORTED_APIS) {
      for (const v of [api.minVersion, api.maxVersion]) {
        const request = REQUESTS.get(api.apiKey) as MessageSchema;
        const body = sample(request.struct, v, false, { n: 0 });
        const header = { apiKey: api.apiKey, apiVersion: v, correlationId: 1000 + v, clientId: 'c' };
        const decoded = decodeRequest(encodeRequest(header, body));
        assert.deepStrictEqual(decoded.header, header);
        assert.deepStrictEqual(decoded.body, body);
        assert.equal(decoded.headerVersion, v >= api.firstFlexibleVersion ? 2 : 1);

        const response = RESPONSES.get(api.apiKey) as MessageSchema;
        const rbody = sample(response.struct, v, false, { n: 0 });
        const back = decodeResponse(api.apiKey, v, encodeResponse(api.apiKey, v, 77, rbody));
        assert.deepStrictEqual(back, { correlationId: 77, body: rbody });
      }
    }
  });
});

describe('known bytes', () => {
  test('ApiVersions v3 request: header v2 (classic clientId, tagged fields), compact strings', () => {
    const bytes = encodeRequest(
      { apiKey: ApiKey.ApiVersions, apiVersion: 3, correlationId: 1, clientId: 'kcat' },
      { clientSoftwareName: 'streambed', clientSoftwareVersion: '0.1.0' },
    );
    const expected = hex(
      [
        '0012 0003 00000001', // apiKey 18, version 3, correlationId 1
        `0004 ${str('kcat')} 00`, // clientId as an int16-length string, then no header tagged fields
        `0a ${str('streambed')}`, // compact string: uvarint 9 + 1
        `06 ${str('0.1.0')}`, // compact string: uvarint 5 + 1
        '00', // no tagged fields
      ].join(''),
    );
    assert.equal(toHex(bytes), toHex(expected));
    assert.deepStrictEqual(decodeRequest(expected).body, {
      clientSoftwareName: 'streambed',
      clientSoftwareVersion: '0.1.0',
    });
  });

  test('Metadata v12 request: compact array of structs with uuid and compact nullable string', () => {
    const body = {
      topics: [{ topicId: ZERO_UUID, name: 'orders' }],
      allowAutoTopicCreation: true,
      includeTopicAuthorizedOperations: false,
    };
    const bytes = encodeRequest(
      { apiKey: ApiKey.Metadata, apiVersion: 12, correlationId: 7, clientId: 'rdkafka' },
      body,
    );
    const expected = hex(
      [
        '0003 000c 00000007', // apiKey 3, version 12, correlationId 7
        `0007 ${str('rdkafka')} 00`, // clientId, header tagged fields
        '02', // topics: compact array of 1
        '00000000000000000000000000000000', // topicId (zero uuid)
        `07 ${str('orders')}`, // name: compact nullable string
        '00', // topic tagged fields
        '01', // allowAutoTopicCreation
        '00', // includeTopicAuthorizedOperations (includeClusterAuthorizedOperations is 8-10 only)
        '00', // tagged fields
      ].join(''),
    );
    assert.equal(toHex(bytes), toHex(expected));
    const decoded = decodeRequest(expected);
    assert.deepStrictEqual(decoded.body, { ...body, includeClusterAuthorizedOperations: false });
  });

  test('Metadata v1 request with null topics (all topics) and v0 with an empty list', () => {
    assert.equal(toHex(encodeRequestBody(ApiKey.Metadata, 1, { topics: null })), 'ffffffff');
    assert.equal(toHex(encodeRequestBody(ApiKey.Metadata, 0, { topics: [] })), '00000000');
    assert.equal(
      toHex(encodeRequestBody(ApiKey.Metadata, 4, { topics: [{ name: 'a' }] })),
      `00000001 0001${str('a')} 01`.replace(/ /g, ''),
    );
    assert.throws(() => encodeRequestBody(ApiKey.Metadata, 0, { topics: null }), InvalidArgumentError);
  });

  test('ApiVersions v3 response uses response header v0, and a non-default tagged field is sent', () => {
    const body = { errorCode: 0, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }], throttleTimeMs: 0 };
    const expected = hex(
      [
        '00000005', // correlationId; header v0: no tagged fields even though v3 is flexible
        '0000', // errorCode
        '02 0012 0000 0004 00', // apiKeys: compact array of 1, its tagged fields
        '00000000', // throttleTimeMs
        '00', // no tagged fields: supportedFeatures etc. are at their defaults
      ].join(''),
    );
    assert.equal(toHex(encodeResponse(ApiKey.ApiVersions, 3, 5, body)), toHex(expected));
    const tagged = encodeResponseBody(ApiKey.ApiVersions, 3, { ...body, finalizedFeaturesEpoch: 5n });
    assert.equal(toHex(tagged.subarray(-11)), '01 01 08 0000000000000005'.replace(/ /g, ''));
    assert.equal(decodeResponseBody(ApiKey.ApiVersions, 3, tagged).finalizedFeaturesEpoch, 5n);
    assert.equal(decodeResponseBody(ApiKey.ApiVersions, 3, expected.subarray(4)).finalizedFeaturesEpoch, -1n);
  });

  test('unknown tagged fields are skipped', () => {
    // Heartbeat v4 response: throttleTimeMs, errorCode, then tagged field 99 of 3 bytes.
    const bytes = hex('00000000 0000 01 63 03 aabbcc');
    assert.deepStrictEqual(decodeResponseBody(ApiKey.Heartbeat, 4, bytes), {
      throttleTimeMs: 0,
      errorCode: 0,
    });
  });
});

describe('header rules', () => {
  test('request header v2 and response header v1 exactly for flexible versions; ApiVersions always v0', () => {
    assert.equal(requestHeaderVersion(ApiKey.Metadata, 8), 1);
    assert.equal(requestHeaderVersion(ApiKey.Metadata, 9), 2);
    assert.equal(responseHeaderVersion(ApiKey.Metadata, 8), 0);
    assert.equal(responseHeaderVersion(ApiKey.Metadata, 9), 1);
    assert.equal(requestHeaderVersion(ApiKey.ApiVersions, 3), 2);
    assert.equal(responseHeaderVersion(ApiKey.ApiVersions, 3), 0);
    assert.equal(responseHeaderVersion(ApiKey.ApiVersions, 4), 0);
  });

  test('an unsupported version still yields the correlation id to answer with', () => {
    const bytes = hex(`0012 0063 0000002a 0004 ${str('kcat')} 00 00`);
    assert.throws(
      () => decodeRequestHeader(bytes),
      (e: unknown) =>
        e instanceof UnsupportedKafkaVersionError &&
        e.apiKey === 18 &&
        e.apiVersion === 99 &&
        e.correlationId === 42 &&
        e.kafkaErrorCode === 35,
    );
    assert.throws(() => decodeRequestHeader(hex('0044 0000 00000001 ffff')), UnsupportedKafkaVersionError);
  });
});

describe('encoding rules', () => {
  test('a non-ignorable field with a non-default value in a version without it is refused', () => {
    // Metadata allowAutoTopicCreation (4+, not ignorable, default true).
    assert.throws(
      () => encodeRequestBody(ApiKey.Metadata, 3, { topics: [], allowAutoTopicCreation: false }),
      InvalidArgumentError,
    );
    assert.doesNotThrow(() =>
      encodeRequestBody(ApiKey.Metadata, 3, { topics: [], allowAutoTopicCreation: true }),
    );
    // ApiVersions clientSoftwareName (3+, ignorable) is dropped silently.
    assert.equal(encodeRequestBody(ApiKey.ApiVersions, 2, { clientSoftwareName: 'x' }).length, 0);
  });

  test('bad values name the field', () => {
    assert.throws(
      () => encodeResponseBody(ApiKey.Heartbeat, 4, { errorCode: 70000 }),
      /HeartbeatResponse v4: errorCode must be an integer in \[-32768, 32767\]/,
    );
    assert.throws(
      () => encodeRequestBody(ApiKey.Metadata, 12, { topics: [{ topicId: 'nope' }] }),
      /topics\[0\]\.topicId must be a 22-character base64url UUID/,
    );
    assert.throws(() => encodeRequestBody(ApiKey.Metadata, 12, { topics: [null] }), /topics\[0\] is null/);
  });

  test('int64 fields take safe-integer numbers and decode as bigint', () => {
    const body = { producerId: 42, producerEpoch: 1, transactionalId: null, transactionTimeoutMs: 0 };
    const bytes = encodeRequestBody(ApiKey.InitProducerId, 4, body);
    assert.equal(decodeRequestBody(ApiKey.InitProducerId, 4, bytes).producerId, 42n);
  });
});

describe('malformed input only ever throws the typed errors', () => {
  const request = encodeRequest(
    { apiKey: ApiKey.Metadata, apiVersion: 12, correlationId: 7, clientId: 'rdkafka' },
    sample(REQUESTS.get(ApiKey.Metadata)?.struct as StructSchema, 12, false, { n: 0 }),
  );

  test('every truncation of a valid request, and bytes left over', () => {
    for (let n = 0; n < request.length; n++) {
      assert.throws(() => decodeRequest(request.subarray(0, n)), MalformedKafkaMessageError, `prefix ${n}`);
    }
    const longer = new Uint8Array(request.length + 1);
    longer.set(request);
    assert.throws(() => decodeRequest(longer), /1 bytes left over/);
  });

  test('random bytes and random mutations', () => {
    const typed = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        if (!(e instanceof MalformedKafkaMessageError || e instanceof UnsupportedKafkaVersionError)) throw e;
      }
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => typed(() => decodeRequest(bytes))),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.nat(request.length - 1), fc.integer({ min: 0, max: 255 }), (at, byte) => {
        const copy = request.slice();
        copy[at] = byte;
        typed(() => decodeRequest(copy));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('framing', () => {
  test('frames split across and within chunks come out whole and in order', () => {
    const a = frame(Uint8Array.of(1, 2, 3));
    const b = frame(new Uint8Array(0));
    const c = frame(Uint8Array.of(9));
    const stream = Uint8Array.from([...a, ...b, ...c]);
    const splitter = new FrameSplitter();
    const out = [...stream].flatMap((byte) => splitter.push(Uint8Array.of(byte)));
    assert.deepStrictEqual(out, [Uint8Array.of(1, 2, 3), new Uint8Array(0), Uint8Array.of(9)]);
    assert.equal(splitter.buffered, 0);
  });

  test('a frame size above the limit or negative is refused', () => {
    assert.throws(() => new FrameSplitter(10).push(hex('0000000b')), MalformedKafkaMessageError);
    assert.throws(() => new FrameSplitter().push(hex('ffffffff')), MalformedKafkaMessageError);
  });
});

describe('definition features the vendored files do not use yet', () => {
  const schema = compileMessage({
    name: 'SyntheticResponse',
    type: 'response',
    apiKey: 999,
    validVersions: '0-1',
    flexibleVersions: '1+',
    fields: [
      { name: 'Leader', type: 'Endpoint', versions: '0+', nullableVersions: '0+' },
      { name: 'Others', type: '[]Endpoint', versions: '0+' },
      { name: 'Ratio', type: 'float64', versions: '0+' },
      { name: 'Port', type: 'uint16', versions: '0+' },
      { name: 'Hint', type: 'Endpoint', versions: '1+', taggedVersions: '1+', tag: 4 },
    ],
    commonStructs: [
      { name: 'Endpoint', versions: '0+', fields: [{ name: 'Host', type: 'string', versions: '0+' }] },
    ],
  });

  test('common structs, a nullable struct (int8 marker), float64, uint16 and a tagged struct', () => {
    const v0 = { leader: null, others: [{ host: 'a' }], ratio: 0.25, port: 9092, hint: { host: '' } };
    assert.equal(
      toHex(encodeMessage(schema, 0, v0)),
      `ff 00000001 0001${str('a')} 3fd0000000000000 2384`.replace(/ /g, ''),
    );
    assert.deepStrictEqual(decodeMessage(schema, 0, encodeMessage(schema, 0, v0)), v0);
    const v1 = { ...v0, leader: { host: 'b' }, hint: { host: 'h' } };
    const bytes = encodeMessage(schema, 1, v1);
    assert.equal(
      toHex(bytes),
      `01 02${str('b')}00 02 02${str('a')}00 3fd0000000000000 2384 01 04 03 02${str('h')}00`.replace(
        / /g,
        '',
      ),
    );
    assert.deepStrictEqual(decodeMessage(schema, 1, bytes), v1);
  });
});
