import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Streambed, type StreambedProps } from './streambed.ts';

/** Properties of a {@link StreambedStack}. */
export interface StreambedStackProps extends StackProps {
  /**
   * Properties of the stack's {@link Streambed}.
   *
   * @default - the construct's defaults
   */
  readonly streambed?: StreambedProps;
}

/** A stack holding one {@link Streambed}, with its URL and resource names as outputs. */
export class StreambedStack extends Stack {
  readonly streambed: Streambed;

  constructor(scope: Construct, id: string, props: StreambedStackProps = {}) {
    super(scope, id, props);
    this.streambed = new Streambed(this, 'Log', props.streambed);

    new CfnOutput(this, 'ApiUrl', {
      description: 'Base URL of the Streambed HTTP API (requests must be SigV4-signed)',
      value: this.streambed.url,
    });
    new CfnOutput(this, 'BucketName', {
      description: 'Bucket holding the segment objects (STREAMBED_BUCKET)',
      value: this.streambed.bucket.bucketName,
    });
    new CfnOutput(this, 'LogTableName', {
      description: 'Table of partition heads and index pages (STREAMBED_LOG_TABLE)',
      value: this.streambed.logTable.tableName,
    });
    new CfnOutput(this, 'MetaTableName', {
      description: 'Table of topics and consumer-group offsets (STREAMBED_META_TABLE)',
      value: this.streambed.metaTable.tableName,
    });
  }
}
