import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fetchAnswerType } from '../../functions/fetch.ts';
import { BATCH_REFS_TYPE } from '../../lib/core/wire/batch-refs.ts';
import { FETCH_FRAME_TYPE } from '../../lib/core/wire/fetch-frame.ts';

describe('the fetch answer Accept asks for', () => {
  const cases: [string | undefined, boolean, string][] = [
    [undefined, true, 'application/json'],
    ['application/json', true, 'application/json'],
    ['*/*', true, 'application/json'],
    [`${FETCH_FRAME_TYPE}, application/json;q=0.5`, true, FETCH_FRAME_TYPE],
    [`application/json, ${FETCH_FRAME_TYPE};q=0.5`, true, 'application/json'],
    [`${BATCH_REFS_TYPE}, ${FETCH_FRAME_TYPE}, application/json;q=0.5`, true, BATCH_REFS_TYPE],
    [`${BATCH_REFS_TYPE}, ${FETCH_FRAME_TYPE}, application/json;q=0.5`, false, FETCH_FRAME_TYPE],
    [`${BATCH_REFS_TYPE};q=0.8, ${FETCH_FRAME_TYPE}`, true, FETCH_FRAME_TYPE],
    [`${BATCH_REFS_TYPE}`, false, 'application/json'],
    [`${BATCH_REFS_TYPE};q=0, application/json;q=0.1`, true, 'application/json'],
    [`${FETCH_FRAME_TYPE};q=0`, true, 'application/json'],
    [`${BATCH_REFS_TYPE.toUpperCase()}`, true, BATCH_REFS_TYPE],
    [`${BATCH_REFS_TYPE};q=abc, ${FETCH_FRAME_TYPE}`, true, FETCH_FRAME_TYPE],
  ];
  for (const [accept, canReference, expected] of cases) {
    test(`${accept ?? '(no Accept)'}${canReference ? '' : ' (no presigning)'} → ${expected}`, () => {
      assert.equal(fetchAnswerType(accept, canReference), expected);
    });
  }
});
