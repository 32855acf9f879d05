import { describe, expect, it } from 'vitest';

import { DevenvError } from '../../../../src/errors.js';
import { DEFAULT_RETRY_POLICY } from '../../../../src/image/registry/retry.js';
import { fetchBearerToken, type TokenRequest } from '../../../../src/image/registry/token-auth.js';

function request(answer: (url: string, init?: RequestInit) => Response, extra: Partial<TokenRequest> = {}): TokenRequest & { asked: string[] } {
  const asked: string[] = [];
  return {
    realm: 'https://auth.example/token',
    service: 'svc',
    scopes: ['repository:a/b:pull'],
    allowHttp: false,
    operation: 'pull `a/b:1`',
    registry: 'reg.example',
    fetch: async (input, init) => {
      asked.push(input.toString());
      return answer(input.toString(), init);
    },
    retry: { ...DEFAULT_RETRY_POLICY, sleep: async () => undefined },
    now: () => 1_000_000,
    userAgent: 'devenv',
    asked,
    ...extra,
  };
}

const json = (value: unknown, status = 200): Response => new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json' } });

describe('fetchBearerToken', () => {
  it('asks with service and scopes and sends basic credentials', async () => {
    let auth: string | null = null;
    const req = request((_, init) => {
      auth = new Headers(init?.headers).get('authorization');
      return json({ token: 't1', expires_in: 300 });
    }, { credentials: { username: 'u', password: 'p' } });
    const token = await fetchBearerToken(req);
    expect(req.asked).toEqual(['https://auth.example/token?service=svc&scope=repository%3Aa%2Fb%3Apull']);
    expect(auth).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    expect(token.token).toBe('t1');
    expect(token.expiresAt).toBe(1_000_000 + 300_000 - 10_000);
  });

  it('takes access_token and a 60 s default lifetime', async () => {
    const token = await fetchBearerToken(request(() => json({ access_token: 'a1' })));
    expect(token).toEqual({ token: 'a1', expiresAt: 1_000_000 + 60_000 - 10_000 });
  });

  it('refuses a plain-HTTP realm unless the registry is loopback or insecure', async () => {
    const error = await fetchBearerToken(request(() => json({ token: 'x' }), { realm: 'http://auth.example/token' })).catch((e: unknown) => e);
    expect((error as DevenvError).code).toBe('REGISTRY_PROTOCOL');
    expect((error as DevenvError).message).toBe("pull `a/b:1`: the registry's token realm `http://auth.example/token` is not HTTPS");
    expect((await fetchBearerToken(request(() => json({ token: 'x' }), { realm: 'http://127.0.0.1:1/token' }))).token).toBe('x');
    expect((await fetchBearerToken(request(() => json({ token: 'x' }), { realm: 'http://auth.example/token', allowHttp: true }))).token).toBe('x');
  });

  it('reports answers without a token, and token service failures', async () => {
    const empty = await fetchBearerToken(request(() => json({}))).catch((e: unknown) => e);
    expect((empty as DevenvError).code).toBe('REGISTRY_PROTOCOL');
    const down = await fetchBearerToken(request(() => json({ errors: [{ code: 'X', message: 'down' }] }, 503))).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(DevenvError);
    expect((down as DevenvError).code).toBe('REGISTRY_UNAVAILABLE');
    expect((down as DevenvError).message).toBe('pull `a/b:1`: the token service of reg.example answered 503 (down)');
  });
});
