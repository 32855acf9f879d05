import { describe, expect, it } from 'vitest';

import { parseAuthChallenges } from '../../../../src/image/registry/auth-challenge.js';

describe('parseAuthChallenges', () => {
  it('reads a Docker Hub bearer challenge', () => {
    expect(
      parseAuthChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/debian:pull"'),
    ).toEqual([
      {
        scheme: 'bearer',
        params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/debian:pull' },
      },
    ]);
  });

  it('reads basic, token values, odd spacing and escapes', () => {
    expect(parseAuthChallenges('Basic realm="Registry \\"x\\""')).toEqual([{ scheme: 'basic', params: { realm: 'Registry "x"' } }]);
    expect(parseAuthChallenges('BEARER  Realm = https://r/token , Service=svc')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://r/token', service: 'svc' } },
    ]);
  });

  it('reads several challenges in one header', () => {
    const challenges = parseAuthChallenges('Basic realm="a", Bearer realm="https://t",scope="repository:x:pull,push", Negotiate');
    expect(challenges.map((c) => c.scheme)).toEqual(['basic', 'bearer', 'negotiate']);
    expect(challenges[1]?.params.scope).toBe('repository:x:pull,push');
  });

  it('keeps commas inside quoted values', () => {
    expect(parseAuthChallenges('Bearer scope="repository:a:pull,push",realm="r"')[0]?.params).toEqual({ scope: 'repository:a:pull,push', realm: 'r' });
  });

  it('survives empty and malformed headers', () => {
    expect(parseAuthChallenges('')).toEqual([]);
    expect(parseAuthChallenges('Bearer realm="unterminated')).toEqual([{ scheme: 'bearer', params: { realm: 'unterminated' } }]);
    expect(parseAuthChallenges('"junk"')).toEqual([]);
  });
});
