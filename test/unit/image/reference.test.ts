import { describe, expect, it } from 'vitest';

import { DevenvError } from '../../../src/errors.js';
import { familiarName, formatReference, isSha256Digest, parseImageReference } from '../../../src/image/reference.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

function rejection(text: string): DevenvError {
  try {
    parseImageReference(text);
  } catch (error) {
    expect(error).toBeInstanceOf(DevenvError);
    expect((error as DevenvError).code).toBe('IMAGE_REFERENCE_INVALID');
    expect((error as DevenvError).message).toContain(`invalid image reference \`${text}\`: `);
    return error as DevenvError;
  }
  throw new Error(`expected ${text} to be rejected`);
}

describe('parseImageReference', () => {
  it.each([
    ['debian', { registry: 'docker.io', repository: 'library/debian', tag: 'latest' }],
    ['debian:bookworm', { registry: 'docker.io', repository: 'library/debian', tag: 'bookworm' }],
    ['user/app', { registry: 'docker.io', repository: 'user/app', tag: 'latest' }],
    ['user/app:1.0', { registry: 'docker.io', repository: 'user/app', tag: '1.0' }],
    ['docker.io/debian', { registry: 'docker.io', repository: 'library/debian', tag: 'latest' }],
    ['index.docker.io/library/debian:12', { registry: 'docker.io', repository: 'library/debian', tag: '12' }],
    ['ghcr.io/owner/app:v1', { registry: 'ghcr.io', repository: 'owner/app', tag: 'v1' }],
    ['localhost/app', { registry: 'localhost', repository: 'app', tag: 'latest' }],
    ['localhost:5000/app', { registry: 'localhost:5000', repository: 'app', tag: 'latest' }],
    ['127.0.0.1:5000/x:1', { registry: '127.0.0.1:5000', repository: 'x', tag: '1' }],
    ['[::1]:5000/x', { registry: '[::1]:5000', repository: 'x', tag: 'latest' }],
    ['Registry/app', { registry: 'Registry', repository: 'app', tag: 'latest' }],
    ['a/b/c/d:e', { registry: 'docker.io', repository: 'a/b/c/d', tag: 'e' }],
    ['my-reg.example.com/a__b/c.d/e-f--g:T_1.x-y', { registry: 'my-reg.example.com', repository: 'a__b/c.d/e-f--g', tag: 'T_1.x-y' }],
    [`debian@${DIGEST}`, { registry: 'docker.io', repository: 'library/debian', digest: DIGEST }],
    [`debian:12@${DIGEST}`, { registry: 'docker.io', repository: 'library/debian', tag: '12', digest: DIGEST }],
    [`127.0.0.1:5000/x@${DIGEST}`, { registry: '127.0.0.1:5000', repository: 'x', digest: DIGEST }],
    // Docker reads these the same way: without a slash the colon starts a tag.
    ['localhost:5000', { registry: 'docker.io', repository: 'library/localhost', tag: '5000' }],
  ])('%s', (text, expected) => {
    expect(parseImageReference(text)).toEqual(expected);
  });

  it('keeps the tag out of a port', () => {
    expect(parseImageReference('reg:5000/app').tag).toBe('latest');
    expect(parseImageReference('reg:5000/app:5001').tag).toBe('5001');
  });

  it.each([
    ['', 'it is empty'],
    ['deb ian', 'whitespace'],
    ['Debian', 'repository name `Debian` must be lowercase'],
    ['docker.io/User/app', 'must be lowercase'],
    ['debian:', 'the tag after `:` is empty'],
    ['debian:-x', 'tag `-x` is invalid'],
    [`debian:${'a'.repeat(129)}`, 'is invalid'],
    ['debian@', 'the digest after `@` is empty'],
    ['debian@sha256:abc', 'must be `sha256:` followed by 64 lowercase hex digits'],
    [`debian@sha256:${'A'.repeat(64)}`, 'must be `sha256:`'],
    [`debian@sha512:${'a'.repeat(128)}`, 'unsupported algorithm'],
    ['debian@latest', 'not of the form'],
    ['a//b', 'empty path component'],
    ['app_', 'path component `app_` is invalid'],
    ['-app', 'path component `-app` is invalid'],
    ['ex..ample.com/app', '`ex..ample.com` is not a valid host[:port]'],
    ['reg.io:port/app', 'is not a valid host[:port]'],
    ['reg.io/', 'the repository name is empty'],
    [':tag', 'the repository name is empty'],
    ['a'.repeat(256), 'longer than 255'],
    ['a'.repeat(64), 'image id'],
  ])('rejects %j (%s)', (text, why) => {
    expect(rejection(text).message).toContain(why);
  });

  it('gives a hint with the expected form', () => {
    expect(rejection('UPPER').hint).toMatch(/registry\/\]repository/);
  });
});

describe('formatReference and familiarName', () => {
  it.each([
    ['debian', 'docker.io/library/debian:latest', 'debian:latest'],
    ['user/app:1', 'docker.io/user/app:1', 'user/app:1'],
    ['docker.io/library/a/b', 'docker.io/library/a/b:latest', 'library/a/b:latest'],
    ['127.0.0.1:5000/x:1', '127.0.0.1:5000/x:1', '127.0.0.1:5000/x:1'],
    [`ghcr.io/o/a:v@${DIGEST}`, `ghcr.io/o/a:v@${DIGEST}`, `ghcr.io/o/a:v@${DIGEST}`],
    [`debian@${DIGEST}`, `docker.io/library/debian@${DIGEST}`, `debian@${DIGEST}`],
  ])('%s', (text, full, familiar) => {
    const ref = parseImageReference(text);
    expect(formatReference(ref)).toBe(full);
    expect(familiarName(ref)).toBe(familiar);
    expect(parseImageReference(formatReference(ref))).toEqual(ref);
  });
});

describe('isSha256Digest', () => {
  it('accepts only lowercase sha256 of 64 hex digits', () => {
    expect(isSha256Digest(DIGEST)).toBe(true);
    expect(isSha256Digest(DIGEST.toUpperCase())).toBe(false);
    expect(isSha256Digest('sha256:abc')).toBe(false);
  });
});
