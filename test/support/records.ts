import type { LogRecord } from '../../lib/core/segment/index.ts';

/**
 * A log record whose value is `value` in UTF-8: no key, no headers, a fixed timestamp.
 *
 * @example
 * encodeSegment([{ partition: 0, records: [logRecord('a'), logRecord('b', { key: enc.encode('k') })] }])
 */
export const logRecord = (value: string, extra: Partial<LogRecord> = {}): LogRecord => ({
  key: null,
  value: new TextEncoder().encode(value),
  valueIsJson: false,
  headers: [],
  timestamp: 1_700_000_000_000,
  ...extra,
});
