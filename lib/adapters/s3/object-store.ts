import { createHash } from 'node:crypto';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  type PutObjectCommandInput,
  type PutObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { BuildMiddleware } from '@smithy/types';
import { CorruptSegmentError } from '../../core/errors.ts';
import type { ObjectStore, StoredObject } from '../../core/ports.ts';
import { mapAwsError } from '../aws-errors.ts';

/** Marks a request's payload unsigned (`x-amz-content-sha256: UNSIGNED-PAYLOAD`), before SigV4 signs it. */
const unsignedPayload: BuildMiddleware<PutObjectCommandInput, PutObjectCommandOutput> =
  (next) => async (args) => {
    const headers = (args.request as { headers?: Record<string, string> }).headers;
    if (headers !== undefined) headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
    return await next(args);
  };

/**
 * Segment objects on S3 (or MinIO). Objects are written once with `If-None-Match: *`, so an id
 * collision can never overwrite acknowledged data, and read back with ranged GETs.
 *
 * @example
 * const store = new S3ObjectStore({ client: new S3Client({}), bucket: 'my-streambed' });
 * await store.put('topics/orders/abc/0001.sbs', bytes);
 */
export class S3ObjectStore implements ObjectStore {
  private readonly client: S3Client;
  private readonly bucket: string;

  constructor(options: { readonly client: S3Client; readonly bucket: string }) {
    this.client = options.client;
    this.bucket = options.bucket;
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: key,
      Body: body,
      ContentLength: body.byteLength,
      ContentType: 'application/vnd.streambed.segment',
      IfNoneMatch: '*',
      // S3 checks the stored bytes against this CRC32 (the SDK's, on zlib's native crc32)...
      ChecksumAlgorithm: 'CRC32',
    });
    // ...so the signature need not hash the body too: SigV4's SHA-256 of a 1 MiB segment is ~1.5 ms of
    // CPU per PUT on the produce path, for a guarantee the checksum (and TLS) already give.
    command.middlewareStack.add(unsignedPayload, { step: 'build', name: 'streambedUnsignedPayload' });
    try {
      await this.client.send(command);
    } catch (error) {
      // An SDK retry of a PUT whose response was lost finds our own object: same bytes, same ETag.
      if (error instanceof Error && error.name === 'PreconditionFailed' && (await this.holds(key, body)))
        return;
      mapAwsError(error);
    }
  }

  private async holds(key: string, body: Uint8Array): Promise<boolean> {
    const head = await this.client
      .send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }))
      .catch(mapAwsError);
    const md5 = createHash('md5').update(body).digest('hex');
    return head.ETag?.replaceAll('"', '') === md5 && head.ContentLength === body.byteLength;
  }

  async presignRange(
    key: string,
    offset: number,
    length: number,
    expiresInSeconds: number,
  ): Promise<{ url: string; range: string }> {
    const range = `bytes=${offset}-${offset + length - 1}`;
    // Range is signed: the URL reads this batch and nothing else of the object.
    const url = await getSignedUrl(
      this.client,
      new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: range }),
      { expiresIn: expiresInSeconds, signableHeaders: new Set(['range']) },
    );
    return { url, range };
  }

  async getRange(key: string, offset: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    const out = await this.client
      .send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Range: `bytes=${offset}-${offset + length - 1}`,
        }),
      )
      .catch((error: unknown) => {
        if (error instanceof NoSuchKey || (error instanceof Error && error.name === 'InvalidRange')) {
          throw new CorruptSegmentError(`segment object ${key} is missing but the index points to it`, {
            cause: error,
          });
        }
        return mapAwsError(error);
      });
    const body = out.Body as (typeof out.Body & Partial<AsyncIterable<Uint8Array>>) | undefined;
    if (into !== undefined && into.byteLength === length && body?.[Symbol.asyncIterator] !== undefined) {
      // Straight into the caller's buffer (a fetch frame's slot): no concatenation, no copy after.
      let at = 0;
      for await (const chunk of body as AsyncIterable<Uint8Array>) {
        if (at + chunk.byteLength > length) {
          at = Number.POSITIVE_INFINITY; // more than the range: stop reading (the stream is destroyed)
          break;
        }
        into.set(chunk, at);
        at += chunk.byteLength;
      }
      if (at !== length) {
        throw new CorruptSegmentError(
          `object ${key} did not return exactly ${length} bytes at ${offset}; the index expects ${length}`,
        );
      }
      return into;
    }
    const bytes = (await out.Body?.transformToByteArray()) ?? new Uint8Array();
    if (bytes.byteLength !== length) {
      throw new CorruptSegmentError(
        `object ${key} returned ${bytes.byteLength} bytes at ${offset}; the index expects ${length}`,
      );
    }
    return bytes;
  }

  async *list(prefix: string, startAfter?: string): AsyncIterable<StoredObject> {
    let token: string | undefined;
    do {
      const out = await this.client
        .send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            ContinuationToken: token,
            ...(startAfter === undefined ? {} : { StartAfter: startAfter }),
          }),
        )
        .catch(mapAwsError);
      for (const object of out.Contents ?? []) {
        if (object.Key === undefined) continue;
        yield { key: object.Key, size: object.Size ?? 0, lastModified: object.LastModified ?? new Date(0) };
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const chunk = keys.slice(i, i + 1000);
      await this.client
        .send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: true },
          }),
        )
        .catch(mapAwsError);
    }
  }
}
