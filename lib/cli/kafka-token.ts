import type { Command } from 'commander';
import { createKafkaAuthToken } from '../client/index.ts';
import { nonNegativeInt } from './args.ts';
import { type Context, type GlobalOptions, interruptible } from './context.ts';
import { UsageError } from './exit-codes.ts';

interface KafkaTokenOptions {
  readonly clusterId: string;
  readonly expiresIn: number;
}

/**
 * `streambed kafka-token`: prints a token for the Kafka door's SASL authentication (a presigned STS
 * GetCallerIdentity URL, base64url; lib/client/kafka-token.ts), signed with the default AWS
 * credential chain or `--profile`, for `--region`. Use it as the PLAIN password or the OAUTHBEARER token.
 *
 * @example
 * // kcat -b 127.0.0.1:9092 -X security.protocol=SASL_PLAINTEXT -X sasl.mechanism=PLAIN \
 * //   -X sasl.username=aws -X sasl.password="$(npx streambed kafka-token)" -L
 * kafkaTokenCommand(program, contextOf);
 */
export function kafkaTokenCommand(program: Command, contextOf: (cmd: Command) => Context): void {
  program
    .command('kafka-token')
    .description(
      "print a token for the Kafka port's SASL authentication (PLAIN password or OAUTHBEARER token): a " +
        'presigned STS GetCallerIdentity URL, signed with your AWS credentials, valid for --expires-in seconds',
    )
    .option(
      '--cluster-id <id>',
      "the Kafka server's cluster id (env STREAMBED_KAFKA_CLUSTER_ID; npm start's is streambed)",
    )
    .option('--expires-in <seconds>', 'how long the token is valid, 1 to 3600', nonNegativeInt, 900)
    .addHelpText(
      'after',
      '\nExample (npm start -- --auth sigv4):\n' +
        '  kcat -b 127.0.0.1:9092 -X security.protocol=SASL_PLAINTEXT -X sasl.mechanism=PLAIN \\\n' +
        '    -X sasl.username=aws -X sasl.password="$(streambed kafka-token)" -L\n',
    )
    .action(async (options: KafkaTokenOptions, cmd: Command) => {
      const ctx = contextOf(cmd);
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const clusterId = options.clusterId ?? (ctx.io.env.STREAMBED_KAFKA_CLUSTER_ID || 'streambed');
      if (options.expiresIn < 1 || options.expiresIn > 3600) {
        throw new UsageError(`--expires-in must be 1 to 3600 seconds, got ${options.expiresIn}`);
      }
      const region =
        globals.region ?? (ctx.io.env.AWS_REGION || ctx.io.env.AWS_DEFAULT_REGION || 'us-east-1');
      const credentials =
        globals.profile === undefined
          ? undefined
          : (await import('@aws-sdk/credential-provider-node')).defaultProvider({ profile: globals.profile });
      const token = await interruptible(
        createKafkaAuthToken({
          clusterId,
          region,
          expiresInSeconds: options.expiresIn,
          ...(credentials === undefined ? {} : { credentials }),
        }),
        ctx.signal,
      );
      ctx.io.stdout.write(`${token}\n`);
    });
}
