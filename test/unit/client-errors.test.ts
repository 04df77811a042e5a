import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { errorFromResponse, normalizeEngineError, parseRetryAfter } from '../../lib/client/errors.ts';
import {
  GroupActiveError,
  OffsetOutOfRangeError,
  OffsetResetError,
  RemoteError,
  retryAfterMs,
  type StreambedError,
  ThrottledError,
  UnknownTopicError,
} from '../../lib/client/index.ts';
import * as core from '../../lib/core/errors.ts';

const body = (code: string, message: string) => ({ error: { code, message } });

describe('client error mapping', () => {
  test('a known code becomes the engine class, with the server message, code, status and retryable flag', () => {
    const e = errorFromResponse(404, body('UnknownTopic', "topic 'x' does not exist"), null, { topic: 'x' });
    assert.ok(e instanceof UnknownTopicError);
    assert.deepEqual(
      [e.code, e.status, e.retryable, e.message, e.topic],
      ['UnknownTopic', 404, false, "topic 'x' does not exist", 'x'],
    );
    assert.match(e.stack ?? '', /^UnknownTopicError: topic 'x' does not exist/);
  });

  test('every code of lib/core/errors.ts maps back to its own class', () => {
    const samples: StreambedError[] = [
      new core.InvalidArgumentError('m'),
      new core.TopicAlreadyExistsError('t'),
      new core.UnknownTopicError('t'),
      new core.UnknownPartitionError('t', 3, 2),
      new core.OffsetOutOfRangeError(1, 5, 9),
      new core.CorruptSegmentError('m'),
      new core.RecordTooLargeError('m'),
      new core.UnknownProducerIdError('m'),
      new core.OutOfOrderSequenceError('m'),
      new core.DuplicateSequenceError('m'),
      new core.ProducerFencedError('m'),
      new core.StaleGenerationError('m'),
      new core.ThrottledError('m'),
      new core.PartitionBusyError('m'),
      new core.RequestTooLargeError('m'),
      new core.UnknownGroupError('g'),
      new core.OffsetResetError('m'),
      new core.GroupActiveError('g', 't', ['a']),
      new core.LeaseLostError('m'),
      new core.UnknownMemberError('m'),
      new core.CommitTooLateError('m'),
      new core.InvalidProduceReturnError('m'),
    ];
    for (const original of samples) {
      const mapped = errorFromResponse(original.status, body(original.code, original.message), null);
      assert.equal(mapped.constructor, original.constructor, original.code);
      assert.deepEqual(
        [mapped.code, mapped.status, mapped.retryable, mapped.message],
        [original.code, original.status, original.retryable, original.message],
      );
    }
  });

  test('fields the JSON error does not carry come from its message', () => {
    const range = errorFromResponse(
      416,
      body('OffsetOutOfRange', new OffsetOutOfRangeError(2, 5, 9).message),
      null,
      { offset: 2 },
    );
    assert.ok(range instanceof OffsetOutOfRangeError);
    assert.deepEqual([range.offset, range.logStartOffset, range.highWatermark], [2, 5, 9]);
    const reset = errorFromResponse(
      409,
      body(
        'OffsetReset',
        "the offsets of group 'g' on 't' were reset (partition 0 to 4, partition 3 to 10) after 'm' read them",
      ),
      null,
    );
    assert.ok(reset instanceof OffsetResetError);
    assert.deepEqual(reset.offsets, [
      { partition: 0, offset: 4 },
      { partition: 3, offset: 10 },
    ]);
    const active = errorFromResponse(409, body('GroupActive', 'busy'), null, { group: 'g', topic: 't' });
    assert.ok(active instanceof GroupActiveError);
    assert.deepEqual([active.group, active.members, active.message], ['g', [], 'busy']);
  });

  test('Retry-After is kept; gateway answers without our body are RemoteErrors, retryable for 429/502/503/504', () => {
    const throttled = errorFromResponse(503, body('Throttled', 'storage is busy; retry'), '2');
    assert.ok(throttled instanceof ThrottledError);
    assert.equal(throttled.retryable, true);
    assert.equal(retryAfterMs(throttled), 2_000);
    const gateway = errorFromResponse(429, { message: 'Too Many Requests' }, null);
    assert.ok(gateway instanceof RemoteError);
    assert.deepEqual(
      [gateway.code, gateway.status, gateway.retryable, gateway.message],
      ['Throttled', 429, true, 'Too Many Requests'],
    );
    assert.equal(retryAfterMs(gateway), undefined);
    const internal = errorFromResponse(500, body('InternalError', 'internal error'), null);
    assert.deepEqual([internal.code, internal.retryable], ['InternalError', false]);
    assert.equal(errorFromResponse(502, undefined, null).retryable, true);
    assert.equal(
      parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')),
      10_000,
    );
    assert.equal(parseRetryAfter('soon'), undefined);
  });

  test("API Gateway's own refusals take their code from x-amzn-ErrorType (IAM authorization), not retryable", () => {
    const error = errorFromResponse(
      403,
      { message: 'The request signature we calculated does not match the signature you provided.' },
      null,
      {},
      'InvalidSignatureException',
    );
    assert.deepEqual([error.code, error.status, error.retryable], ['InvalidSignatureException', 403, false]);
    assert.match(error.message, /^The request signature we calculated/);
    assert.equal(errorFromResponse(403, { message: 'Forbidden' }, null, {}, null).code, 'HttpError');
  });

  test('the direct transport reports AWS throttling as Throttled and anything unexpected as InternalError', () => {
    const typed = new core.LeaseLostError('gone');
    assert.equal(normalizeEngineError(typed), typed);
    const busy = normalizeEngineError(
      Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException' }),
    );
    assert.ok(busy instanceof ThrottledError);
    const odd = normalizeEngineError(new TypeError('boom'));
    assert.ok(odd instanceof RemoteError);
    assert.deepEqual([odd.code, odd.status, odd.retryable], ['InternalError', 500, false]);
    assert.ok(odd.cause instanceof TypeError);
  });
});
