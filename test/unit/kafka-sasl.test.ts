import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createKafkaAuthToken } from '../../lib/client/kafka-token.ts';
import { principalAuthorizer, roleArnOf } from '../../lib/kafka/auth/authorize.ts';
import {
  CallerRejectedError,
  MalformedTokenError,
  PrincipalNotAllowedError,
  TokenExpiredError,
  UntrustedTokenHostError,
  VerifierUnavailableError,
} from '../../lib/kafka/auth/errors.ts';
import { parseOAuthBearer, parsePlain } from '../../lib/kafka/auth/sasl.ts';
import { parseCallerIdentity, stsVerifier } from '../../lib/kafka/auth/sts-verifier.ts';
import { isStsHost, parseCallerToken } from '../../lib/kafka/auth/token.ts';

const credentials = { accessKeyId: 'AKIAUNITSASL00000001', secretAccessKey: 'unit-sasl-secret' };
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const at = (ms: number) => () => new Date(ms);
const token = (over: Partial<Parameters<typeof createKafkaAuthToken>[0]> = {}) =>
  createKafkaAuthToken({ clusterId: 'c1', region: 'eu-west-1', credentials, now: at(NOW), ...over });
/** A token of an arbitrary URL (what an attacker would send). */
const urlToken = (url: string) => Buffer.from(url, 'utf8').toString('base64url');
/** A real token's URL with one change. */
async function edited(change: (url: URL) => void): Promise<string> {
  const url = new URL(Buffer.from(await token(), 'base64url').toString('utf8'));
  change(url);
  return urlToken(url.toString());
}

const STS_XML = `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>arn:aws:sts::123456789012:assumed-role/app/i-0abc</Arn>
    <UserId>AROAEXAMPLE:i-0abc</UserId>
    <Account>123456789012</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>`;

describe('SASL client messages', () => {
  test('OAUTHBEARER: the token after auth=Bearer, as kafkajs, Java and @platformatic/kafka send it; extensions ignored', () => {
    assert.deepEqual(parseOAuthBearer(Buffer.from('n,,\x01auth=Bearer abc_-123\x01\x01')), {
      token: 'abc_-123',
      user: '',
    });
    assert.deepEqual(parseOAuthBearer(Buffer.from('n,a=alice,\x01auth=Bearer t\x01ext=1\x01\x01')), {
      token: 't',
      user: 'alice',
    });
    assert.deepEqual(parseOAuthBearer(Buffer.from('n,"a=bob,\x01auth=Bearer t\x01\x01')).user, 'bob'); // kafkajs's stray quote
  });

  test('OAUTHBEARER messages without the framing or the bearer token are refused', () => {
    for (const text of [
      '',
      'auth=Bearer t',
      'n,,\x01auth=Bearer t\x01',
      'n,,\x01auth=Basic t\x01\x01',
      'n,,\x01x=1\x01\x01',
      'y,,\x01auth=Bearer t\x01\x01',
    ]) {
      assert.throws(() => parseOAuthBearer(Buffer.from(text)), MalformedTokenError, JSON.stringify(text));
    }
  });

  test('PLAIN: the password is the token; an authzid other than the user, or an empty password, is refused', () => {
    assert.deepEqual(parsePlain(Buffer.from('\x00aws\x00tok')), { token: 'tok', user: 'aws' });
    assert.deepEqual(parsePlain(Buffer.from('aws\x00aws\x00tok')), { token: 'tok', user: 'aws' });
    for (const text of ['aws tok', '\x00aws\x00', 'root\x00aws\x00tok', '\x00a\x00b\x00c']) {
      assert.throws(() => parsePlain(Buffer.from(text)), MalformedTokenError, JSON.stringify(text));
    }
  });
});

describe('token shape, checked before anything is fetched', () => {
  test('a token from createKafkaAuthToken parses: STS host, region, key, lifetime, the cluster header signed', async () => {
    const parsed = parseCallerToken(await token(), { now: NOW });
    assert.equal(parsed.url.host, 'sts.eu-west-1.amazonaws.com');
    assert.equal(parsed.region, 'eu-west-1');
    assert.equal(parsed.accessKeyId, credentials.accessKeyId);
    assert.equal(parsed.expiresAt, NOW + 900_000);
    assert.deepEqual(parsed.signedHeaders, ['host', 'x-streambed-cluster']);
  });

  test('STS hosts: global, regional, FIPS, China; nothing else', () => {
    for (const host of [
      'sts.amazonaws.com',
      'sts.eu-west-1.amazonaws.com',
      'sts-fips.us-east-1.amazonaws.com',
      'sts.cn-north-1.amazonaws.com.cn',
      'sts.us-gov-west-1.amazonaws.com',
    ]) {
      assert.ok(isStsHost(host), host);
    }
    for (const host of [
      '169.254.169.254',
      'localhost',
      'sts.amazonaws.com.evil.example',
      'evil.sts.amazonaws.com',
      'sts.eu-west-1.amazonaws.com.',
      'iam.amazonaws.com',
    ]) {
      assert.ok(!isStsHost(host), host);
    }
  });

  const refusals: [string, () => Promise<string> | string, new (...args: never[]) => Error, RegExp][] = [
    ['not base64url', () => 'not base64!', MalformedTokenError, /not base64url/],
    ['not a URL', () => urlToken('hello'), MalformedTokenError, /does not decode to a URL/],
    [
      'the instance metadata address',
      () => urlToken('http://169.254.169.254/latest/meta-data/'),
      UntrustedTokenHostError,
      /not AWS STS/,
    ],
    [
      'an STS look-alike host',
      () =>
        edited((u) => {
          u.hostname = 'sts.eu-west-1.amazonaws.com.evil.example';
        }),
      UntrustedTokenHostError,
      /not AWS STS/,
    ],
    [
      'plain http to STS',
      () =>
        edited((u) => {
          u.protocol = 'http:';
        }),
      UntrustedTokenHostError,
      /not AWS STS/,
    ],
    [
      'another port',
      () =>
        edited((u) => {
          u.port = '8443';
        }),
      UntrustedTokenHostError,
      /not AWS STS/,
    ],
    [
      'user info',
      () =>
        edited((u) => {
          u.username = 'x';
        }),
      UntrustedTokenHostError,
      /not AWS STS/,
    ],
    [
      'another path',
      () =>
        edited((u) => {
          u.pathname = '/admin';
        }),
      MalformedTokenError,
      /path '\/'/,
    ],
    [
      'another action',
      () => edited((u) => u.searchParams.set('Action', 'AssumeRole')),
      MalformedTokenError,
      /GetCallerIdentity/,
    ],
    [
      'an extra parameter',
      () => edited((u) => u.searchParams.set('RoleArn', 'x')),
      MalformedTokenError,
      /unexpected parameter 'RoleArn'/,
    ],
    [
      'the cluster header not signed',
      () => edited((u) => u.searchParams.set('X-Amz-SignedHeaders', 'host')),
      MalformedTokenError,
      /host;x-streambed-cluster/,
    ],
    [
      'a lifetime over an hour',
      () => edited((u) => u.searchParams.set('X-Amz-Expires', '86400')),
      MalformedTokenError,
      /X-Amz-Expires must be 1 to 3600/,
    ],
    [
      'another service in the scope',
      () => edited((u) => u.searchParams.set('X-Amz-Credential', 'AKIA/20260115/eu-west-1/s3/aws4_request')),
      MalformedTokenError,
      /sts\/aws4_request/,
    ],
    [
      'a date not the scope date',
      () => edited((u) => u.searchParams.set('X-Amz-Date', '20260116T120000Z')),
      MalformedTokenError,
      /not the credential scope's date/,
    ],
    [
      'a malformed signature',
      () => edited((u) => u.searchParams.set('X-Amz-Signature', 'zz')),
      MalformedTokenError,
      /64 hex/,
    ],
    [
      'an expired token',
      () => token({ now: at(NOW - 901_000) }),
      TokenExpiredError,
      /expired at 2026-01-15T11:59:59/,
    ],
    [
      'a token signed in the future',
      () => token({ now: at(NOW + 6 * 60_000) }),
      TokenExpiredError,
      /ahead of this server's clock/,
    ],
  ];

  const fetched: string[] = [];
  const recordingFetch: typeof fetch = async (input) => {
    fetched.push(String(input));
    return new Response(STS_XML);
  };
  for (const [name, make, type, message] of refusals) {
    test(`${name} is refused and nothing is fetched`, async () => {
      const verifier = stsVerifier({ fetch: recordingFetch });
      await assert.rejects(
        verifier.verifyCaller(await make(), { clusterId: 'c1', now: NOW }),
        (error: Error) => {
          assert.ok(error instanceof type, `${error.name}: ${error.message}`);
          assert.match(error.message, message);
          return true;
        },
      );
      assert.deepEqual(fetched, []);
    });
  }
});

describe('the STS verifier, against an HTTP server answering as STS does', () => {
  let server: Server;
  let endpoint = '';
  const seen: { url: string; cluster: string | undefined }[] = [];
  /** What the next request gets: status and body, or no answer at all. */
  let answer: { status: number; body: string; headers?: Record<string, string> } | 'hang' = {
    status: 200,
    body: STS_XML,
  };
  before(async () => {
    server = createServer((req, res) => {
      seen.push({ url: req.url ?? '', cluster: req.headers['x-streambed-cluster'] as string | undefined });
      if (answer === 'hang') return;
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const verify = async (timeoutMs = 2000) =>
    stsVerifier({ allowedEndpoints: [endpoint], timeoutMs }).verifyCaller(
      await token({ stsEndpoint: endpoint }),
      { clusterId: 'c1', now: NOW },
    );

  test('200: the caller STS names, the token URL as sent, and the cluster header added by the server', async () => {
    answer = { status: 200, body: STS_XML };
    seen.length = 0;
    const caller = await verify();
    assert.deepEqual(caller, {
      arn: 'arn:aws:sts::123456789012:assumed-role/app/i-0abc',
      account: '123456789012',
      userId: 'AROAEXAMPLE:i-0abc',
      expiresAt: NOW + 900_000,
    });
    assert.equal(seen[0]?.cluster, 'c1');
    assert.match(
      seen[0]?.url ?? '',
      /^\/\?Action=GetCallerIdentity&Version=2011-06-15&.*X-Amz-Signature=[0-9a-f]{64}$/,
    );
  });

  test('403 (a bad signature, another cluster) is CallerRejected, not retryable, with STS code', async () => {
    answer = {
      status: 403,
      body: '<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match</Message></Error></ErrorResponse>',
    };
    await assert.rejects(verify(), (error: Error) => {
      assert.ok(error instanceof CallerRejectedError);
      assert.equal(error.retryable, false);
      assert.match(error.message, /403 SignatureDoesNotMatch: The request signature/);
      return true;
    });
  });

  test('5xx, a timeout and a redirect are VerifierUnavailable, retryable; a redirect is not followed', async () => {
    answer = {
      status: 503,
      body: '<ErrorResponse><Error><Code>ServiceUnavailable</Code></Error></ErrorResponse>',
    };
    await assert.rejects(
      verify(),
      (e: Error) => e instanceof VerifierUnavailableError && e.retryable && /503/.test(e.message),
    );
    answer = 'hang';
    await assert.rejects(
      verify(50),
      (e: Error) => e instanceof VerifierUnavailableError && /could not ask STS/.test(e.message),
    );
    answer = { status: 302, body: '', headers: { location: 'http://169.254.169.254/' } };
    seen.length = 0;
    await assert.rejects(verify(), (e: Error) => e instanceof VerifierUnavailableError);
    assert.equal(seen.length, 1);
  });

  test("STS's answer is read as XML or JSON; an answer without Arn, Account and UserId is refused", () => {
    assert.equal(parseCallerIdentity(STS_XML).account, '123456789012');
    const json = JSON.stringify({
      GetCallerIdentityResponse: {
        GetCallerIdentityResult: {
          Arn: 'arn:aws:iam::123456789012:user/ada',
          Account: '123456789012',
          UserId: 'AIDA1',
        },
      },
    });
    assert.deepEqual(parseCallerIdentity(json), {
      arn: 'arn:aws:iam::123456789012:user/ada',
      account: '123456789012',
      userId: 'AIDA1',
    });
    assert.throws(() => parseCallerIdentity('<html>captive portal</html>'), VerifierUnavailableError);
    assert.throws(() => parseCallerIdentity('{"GetCallerIdentityResponse":{}}'), VerifierUnavailableError);
  });
});

describe('authorization of verified callers', () => {
  const caller = (arn: string) => ({ arn, account: arn.split(':')[4] ?? '', userId: 'x' });
  test('an assumed-role session is its role; other ARNs stay as they are', () => {
    assert.equal(
      roleArnOf('arn:aws:sts::123456789012:assumed-role/app/i-0abc'),
      'arn:aws:iam::123456789012:role/app',
    );
    assert.equal(roleArnOf('arn:aws:iam::123456789012:user/ada'), 'arn:aws:iam::123456789012:user/ada');
  });
  test('by default, callers of the server account only', () => {
    const authorize = principalAuthorizer({ account: '123456789012' });
    authorize(caller('arn:aws:iam::123456789012:user/ada'));
    assert.throws(() => authorize(caller('arn:aws:iam::999999999999:user/eve')), PrincipalNotAllowedError);
  });
  test('an allow-list of accounts and ARN patterns replaces the account rule, roles matched through their sessions', () => {
    const authorize = principalAuthorizer({
      account: '123456789012',
      allowedPrincipals: ['arn:aws:iam::123456789012:role/app-*', '555555555555'],
    });
    authorize(caller('arn:aws:sts::123456789012:assumed-role/app-billing/i-1'));
    authorize(caller('arn:aws:iam::555555555555:user/ci'));
    assert.throws(
      () => authorize(caller('arn:aws:iam::123456789012:user/ada')),
      /not among the principals allowed/,
    );
    assert.throws(
      () => authorize(caller('arn:aws:sts::123456789012:assumed-role/admin/i-1')),
      PrincipalNotAllowedError,
    );
    assert.throws(
      () => principalAuthorizer({ allowedPrincipals: ['ada'] }),
      /neither a 12-digit account id nor an ARN pattern/,
    );
  });
  test('neither an account nor an allow-list is refused at construction (any AWS principal must be allowed explicitly)', () => {
    assert.throws(() => principalAuthorizer({}), /say who may connect/);
    assert.throws(() => principalAuthorizer({ account: '12345' }), /12 digits, got 12345/);
    const anyone = principalAuthorizer({ allowedPrincipals: ['arn:*'] });
    anyone(caller('arn:aws:iam::999999999999:user/eve'));
    const nobody = principalAuthorizer({ allowedPrincipals: [] });
    assert.throws(() => nobody(caller('arn:aws:iam::123456789012:user/ada')), PrincipalNotAllowedError);
  });
});
