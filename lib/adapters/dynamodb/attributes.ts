import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/** Small helpers for DynamoDB's attribute values (kept explicit: numbers stay exact strings). */
export type Item = Record<string, AttributeValue>;

export const S = (value: string): AttributeValue => ({ S: value });
export const N = (value: number): AttributeValue => ({ N: String(value) });
export const L = (values: AttributeValue[]): AttributeValue => ({ L: values });
export const M = (value: Item): AttributeValue => ({ M: value });

export function num(item: Item | undefined, name: string): number {
  const value = item?.[name]?.N;
  if (value === undefined) throw new Error(`attribute ${name} is not a number`);
  return Number(value);
}

export function optNum(item: Item | undefined, name: string): number | undefined {
  const value = item?.[name]?.N;
  return value === undefined ? undefined : Number(value);
}

export function str(item: Item | undefined, name: string): string {
  const value = item?.[name]?.S;
  if (value === undefined) throw new Error(`attribute ${name} is not a string`);
  return value;
}

export function list(item: Item | undefined, name: string): Item[] {
  return (item?.[name]?.L ?? []).map((value) => value.M ?? {});
}

export function map(item: Item | undefined, name: string): Item {
  return item?.[name]?.M ?? {};
}
