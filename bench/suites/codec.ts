import { crc32c } from '../../lib/core/segment/crc.ts';
import { decodeBatch, encodeSegment } from '../../lib/core/segment/index.ts';
import type { BenchConfig } from '../config.ts';
import { MiB, ratio, round } from '../support/load.ts';
import { logRecords, type Shape } from '../support/records.ts';

export interface CodecPoint {
  readonly shape: string;
  readonly batchBytes: number;
  /** encodeSegment (validation, records section, CRC32C), MiB of batch bytes per second. */
  readonly encodeMiBps: number;
  /** decodeBatch with the index's expectations (CRC32C verified, records materialised). */
  readonly decodeMiBps: number;
  /** Buffer.from copy of the batch bytes + crc32c of the copy. */
  readonly floorMiBps: number;
  readonly encodeVsFloor: number;
  readonly decodeVsFloor: number;
}

/** Runs `work` repeatedly for about `ms`; returns bytes per second given `bytes` per iteration. */
function rate(ms: number, bytes: number, work: () => void): number {
  for (let i = 0; i < 3; i++) work(); // warm up the JIT
  let iterations = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    work();
    iterations++;
    elapsed = performance.now() - start;
  } while (elapsed < ms);
  return (iterations * bytes) / (elapsed / 1000);
}

/**
 * Codec throughput beside the floor of touching the same bytes once: copy + CRC32C. Three rounds
 * alternate encode, decode and floor; each figure is the median of its rounds.
 */
export function codecSuite(config: BenchConfig, log: (line: string) => void): CodecPoint[] {
  const points: CodecPoint[] = [];
  for (const shape of config.codec.shapes) {
    const records = logRecords(shape as Shape, Date.now());
    const input = [{ partition: 0, records, compression: 'none' as const }];
    const { bytes, batches } = encodeSegment(input);
    const location = batches[0];
    if (location === undefined) throw new Error('no batch');
    const batch = bytes.subarray(location.byteOffset, location.byteOffset + location.byteLength);
    const expect = { partition: 0, recordCount: shape.records };
    let sink = 0;
    const encode = () => {
      sink += encodeSegment(input).bytes.length;
    };
    const decode = () => {
      sink += decodeBatch(batch, expect).records.length;
    };
    const floor = () => {
      sink += crc32c(Buffer.from(batch));
    };
    const rounds = 3;
    const per = config.codec.budgetMs / rounds;
    const enc: number[] = [];
    const dec: number[] = [];
    const flo: number[] = [];
    for (let r = 0; r < rounds; r++) {
      enc.push(rate(per, batch.length, encode));
      dec.push(rate(per, batch.length, decode));
      flo.push(rate(per, batch.length, floor));
    }
    const median = (values: number[]) =>
      [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
    const point: CodecPoint = {
      shape: shape.id,
      batchBytes: batch.length,
      encodeMiBps: round(median(enc) / MiB, 1),
      decodeMiBps: round(median(dec) / MiB, 1),
      floorMiBps: round(median(flo) / MiB, 1),
      encodeVsFloor: ratio(median(enc), median(flo)),
      decodeVsFloor: ratio(median(dec), median(flo)),
    };
    if (sink === 0) throw new Error('unreachable');
    points.push(point);
    log(
      `codec ${shape.id}: encode ${point.encodeMiBps} MiB/s, decode ${point.decodeMiBps}, copy+CRC ${point.floorMiBps}`,
    );
  }
  return points;
}
