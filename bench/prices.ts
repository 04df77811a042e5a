/**
 * AWS list prices, us-east-1 (N. Virginia), USD, on-demand, no free tier, no Savings Plans: the one
 * place the bench's dollar figures come from. Each price names its source and the date it was
 * taken. Update this file (and its dates) when AWS changes a price; results JSON embeds a copy.
 *
 * How the sources were checked (2026-11-22): the AWS pricing pages render their rate tables from
 * client-side price tokens, so the numbers are not in the pages' text as stored by search indexes.
 * Each price below was cross-checked against at least one other source that quotes it (named in
 * `checkedAgainst`); `confirmed: false` marks a price that could not be confirmed that way and is
 * carried from the widely published value — verify it on the AWS page before quoting it.
 */

export interface Price {
  readonly usd: number;
  readonly unit: string;
  readonly source: string;
  readonly checkedAgainst: string;
  readonly taken: string;
  readonly confirmed: boolean;
  readonly note?: string;
}

const TAKEN = '2026-11-22';

export const PRICES = {
  s3PutPer1000: {
    usd: 0.005,
    unit: 'per 1,000 PUT, COPY, POST, LIST requests (S3 Standard)',
    source: 'https://aws.amazon.com/s3/pricing/',
    checkedAgainst: 'widely published S3 Standard request price; the stored AWS page shows price tokens only',
    taken: TAKEN,
    confirmed: false,
  },
  s3GetPer1000: {
    usd: 0.0004,
    unit: 'per 1,000 GET, SELECT and all other requests (S3 Standard); a ranged GET is one GET',
    source: 'https://aws.amazon.com/s3/pricing/',
    checkedAgainst: 'widely published S3 Standard request price; the stored AWS page shows price tokens only',
    taken: TAKEN,
    confirmed: false,
  },
  s3StorageGbMonth: {
    usd: 0.023,
    unit: 'per GB-month, S3 Standard, first 50 TB',
    source: 'https://aws.amazon.com/s3/pricing/',
    checkedAgainst:
      'https://gist.github.com/EverettBerry/a37438006529a55f42da6fdbc44a505c (S3 Standard tiers)',
    taken: TAKEN,
    confirmed: true,
  },
  ddbWriteRequestUnitPerMillion: {
    usd: 0.625,
    unit: 'per million write request units, on-demand, Standard table class',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    checkedAgainst:
      'aws/agent-toolkit-for-aws skills/.../amazon-dynamodb/scripts/calculate_costs.py (WRU_PRICE = 0.625 / 1e6); ' +
      'https://airbyte.com/data-engineering-resources/dynamodb-pricing',
    taken: TAKEN,
    confirmed: true,
    note:
      'After the on-demand throughput price reduction of 50% effective 2024-11-01 (was $1.25). One WRU writes ' +
      'an item up to 1 KB; UpdateItem is sized on the larger of the item before and after.',
  },
  ddbReadRequestUnitPerMillion: {
    usd: 0.125,
    unit: 'per million read request units, on-demand, Standard table class',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    checkedAgainst:
      'aws/agent-toolkit-for-aws calculate_costs.py (RRU_PRICE = 0.125 / 1e6); ' +
      'https://airbyte.com/data-engineering-resources/dynamodb-pricing',
    taken: TAKEN,
    confirmed: true,
    note:
      'After the 2024-11-01 reduction (was $0.25). A strongly consistent read of up to 4 KB is one RRU; a Query ' +
      'is sized on the total bytes it read, rounded up to 4 KB.',
  },
  ddbStorageGbMonth: {
    usd: 0.25,
    unit: 'per GB-month, Standard table class (first 25 GB per account free; not applied here)',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    checkedAgainst: 'aws/agent-toolkit-for-aws calculate_costs.py (STORAGE_PRICE_PER_GB_MONTH = 0.25)',
    taken: TAKEN,
    confirmed: true,
    note: 'Item size + 100 bytes of indexing overhead per item.',
  },
  ddbPitrGbMonth: {
    usd: 0.2,
    unit: 'per GB-month of table size, continuous backups (PITR)',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    checkedAgainst: 'https://finops.com.py/services/dynamodb/backups (PITR $0.20 per GB-month)',
    taken: TAKEN,
    confirmed: true,
    note: 'infra/storage.ts enables point-in-time recovery on the log table.',
  },
  lambdaArmGbSecond: {
    usd: 0.0000133334,
    unit: 'per GB-second, arm64, first 7.5 billion GB-seconds per month',
    source: 'https://aws.amazon.com/lambda/pricing/',
    checkedAgainst: 'artillery lib/platform/aws-lambda/prices.js (arm64 base 1333340e-11)',
    taken: TAKEN,
    confirmed: true,
  },
  lambdaRequestPerMillion: {
    usd: 0.2,
    unit: 'per million invocations',
    source: 'https://aws.amazon.com/lambda/pricing/',
    checkedAgainst: 'api-evangelist aws-lambda plans (from the AWS page, "$0.20 per million requests")',
    taken: TAKEN,
    confirmed: true,
  },
  apiGatewayHttpPerMillion: {
    usd: 1.0,
    unit: 'per million HTTP API requests, first 300 million per month; metered in 512 KB increments',
    source: 'https://aws.amazon.com/api-gateway/pricing/',
    checkedAgainst:
      'https://awsforengineers.com/blog/aws-api-gateway-pricing-explained ($1.00/million first 300M); ' +
      'https://www.stormit.cloud/blog/amazon-api-gateway-pricing (512 KB increments: 513 KB is 2 requests)',
    taken: TAKEN,
    confirmed: true,
  },
} as const satisfies Record<string, Price>;

/** Memory of the produce and fetch functions in infra/api.ts (MB). */
export const LAMBDA_MEMORY_MB = { produce: 1024, fetch: 1024 } as const;

/** API Gateway HTTP API metering unit. */
export const API_GATEWAY_METER_BYTES = 512 * 1024;
