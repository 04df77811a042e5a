/** A partition with new records, as a change to its head in the `log` table's stream says. */
export interface ChangedPartition {
  readonly topicId: string;
  readonly partition: number;
}

/** A DynamoDB stream record, as Lambda's event or the DynamoDB Streams API gives it. */
export type StreamRecordLike = unknown;

type AttributeLike = { readonly S?: unknown; readonly N?: unknown } | undefined;
type ImageLike = Readonly<Record<string, AttributeLike>> | undefined;

function streamImages(record: unknown): { keys: ImageLike; next: ImageLike; old: ImageLike } {
  const dynamodb = (
    record as { dynamodb?: { Keys?: ImageLike; NewImage?: ImageLike; OldImage?: ImageLike } } | null
  )?.dynamodb;
  return { keys: dynamodb?.Keys, next: dynamodb?.NewImage, old: dynamodb?.OldImage };
}

/**
 * Partitions whose high watermark moved, from `log` table stream records: head items (sk = -1)
 * whose `next` grew. Page writes and trims are not deliveries and are ignored.
 */
export function changedPartitions(records: readonly StreamRecordLike[]): ChangedPartition[] {
  const seen = new Map<string, ChangedPartition>();
  for (const record of records) {
    const { keys, next: newImage, old } = streamImages(record);
    const pk = keys?.pk?.S;
    if (keys?.sk?.N !== '-1' || typeof pk !== 'string') continue;
    const next = Number(newImage?.next?.N ?? Number.NaN);
    const before = Number(old?.next?.N ?? 0);
    if (!(next > before)) continue;
    const cut = pk.lastIndexOf('#');
    const change = { topicId: pk.slice(0, cut), partition: Number(pk.slice(cut + 1)) };
    seen.set(pk, change);
  }
  return [...seen.values()];
}
