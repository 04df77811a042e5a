import type { APIGatewayProxyResultV2 } from 'aws-lambda';

/** Placeholder: the real handler is being written. */
export const handler = async (): Promise<APIGatewayProxyResultV2> => ({ statusCode: 501, body: '' });
