import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validate } from '../../functions/api/schemas.ts';
import { GroupActiveError, InvalidArgumentError } from '../../lib/core/errors.ts';
import { validateResetTarget } from '../../lib/engine/reset-offsets.ts';

describe('reset targets', () => {
  test('earliest, latest, { timestamp } and { offset } are accepted as given', () => {
    assert.equal(validateResetTarget('earliest'), 'earliest');
    assert.equal(validateResetTarget('latest'), 'latest');
    assert.deepEqual(validateResetTarget({ timestamp: 1_700_000_000_000 }), { timestamp: 1_700_000_000_000 });
    assert.deepEqual(validateResetTarget({ offset: 0 }), { offset: 0 });
  });

  test('anything else is InvalidArgument naming the field', () => {
    for (const [bad, field] of [
      ['middle', 'to must be'],
      [null, 'to must be'],
      [7, 'to must be'],
      [[], 'to must be'],
      [{}, 'exactly one'],
      [{ offset: 1, timestamp: 2 }, 'exactly one'],
      [{ shift: 1 }, 'exactly one'],
      [{ offset: -1 }, 'to.offset'],
      [{ offset: 1.5 }, 'to.offset'],
      [{ timestamp: '2026-01-01' }, 'to.timestamp'],
    ] as const) {
      assert.throws(
        () => validateResetTarget(bad),
        (error: unknown) => error instanceof InvalidArgumentError && error.message.includes(field),
        JSON.stringify(bad),
      );
    }
  });

  test('the HTTP schema refuses the same targets with one rule for `to`', () => {
    for (const to of ['middle', { offset: 1, timestamp: 2 }, { offset: -1 }, {}, 3]) {
      assert.throws(
        () => validate('ResetOffsetsRequest', { topic: 't', to }),
        /body\.to must be "earliest", "latest", \{"timestamp": ms\} or \{"offset": n\}/,
      );
    }
    validate('ResetOffsetsRequest', {
      topic: 't',
      to: { timestamp: 5 },
      partitions: [0, 2],
      force: true,
      dryRun: false,
    });
  });

  test('GroupActive is a 409 that is not retryable and names what keeps the group active', () => {
    const error = new GroupActiveError('billing', 'orders', ['m-1', 'm-2'], 'billing-fn');
    assert.deepEqual([error.code, error.status, error.retryable], ['GroupActive', 409, false]);
    assert.match(
      error.message,
      /2 active members \(m-1, m-2\) and a running consumer function \(billing-fn\)/,
    );
    assert.match(
      new GroupActiveError('g', 't', [], 'fn').message,
      /^group 'g' has a running consumer function/,
    );
  });
});
