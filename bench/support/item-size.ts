import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * DynamoDB's size of an item, by the rules of the developer guide ("Item sizes and formats"):
 * attribute names count as their UTF-8 bytes; strings as UTF-8 bytes; numbers as 1 byte per two
 * significant digits plus 1; binary as its length; booleans and null as 1; lists and maps as
 * 3 bytes plus their elements plus 1 byte per element. Used to estimate request units where
 * DynamoDB Local reports none (failed conditional writes) and the storage an index takes.
 *
 * @example itemSize({ pk: { S: 'ab' }, sk: { N: '-1' } }) // 2 + 2 + 2 + 2 = 8
 */
export function itemSize(item: Record<string, AttributeValue>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += utf8(name) + valueSize(value);
  return size;
}

function utf8(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function numberSize(text: string): number {
  const digits = text.replace(/^[-+]/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return utf8(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return value.B.length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.L !== undefined) {
    let size = 3;
    for (const element of value.L) size += valueSize(element) + 1;
    return size;
  }
  if (value.M !== undefined) {
    let size = 3;
    for (const [name, element] of Object.entries(value.M)) size += utf8(name) + valueSize(element) + 1;
    return size;
  }
  if (value.SS !== undefined) return value.SS.reduce((total, s) => total + utf8(s), 0);
  if (value.NS !== undefined) return value.NS.reduce((total, n) => total + numberSize(n), 0);
  if (value.BS !== undefined) return value.BS.reduce((total, b) => total + b.length, 0);
  return 0;
}

/** Write request units of a standard write of an item of `bytes`: 1 per started KB, at least 1. */
export function writeUnits(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / 1024));
}
