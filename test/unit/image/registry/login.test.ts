import { afterEach, describe, expect, it } from 'vitest';

import { DevenvError } from '../../../../src/errors.js';
import { loginToRegistry } from '../../../../src/image/registry/login.js';
import { EMPTY_REGISTRIES_CONFIG } from '../../../../src/image/registry/registries-config.js';
import { startFakeRegistry, type FakeRegistry, type FakeRegistryOptions } from '../../../support/fake-registry.js';

const registries: FakeRegistry[] = [];
afterEach(async () => {
  await Promise.all(registries.splice(0).map((r) => r.close()));
});

async function start(options: FakeRegistryOptions): Promise<FakeRegistry> {
  const registry = await startFakeRegistry(options);
  registries.push(registry);
  return registry;
}

const options = { config: EMPTY_REGISTRIES_CONFIG, retry: { sleep: async () => undefined } };

describe('loginToRegistry', () => {
  it('verifies credentials through the token service', async () => {
    const registry = await start({ auth: 'bearer', users: { alice: 'pw' } });
    expect(await loginToRegistry(`http://${registry.host}/`, 'alice', 'pw', options)).toEqual({ registry: registry.host, verified: true });
    expect(registry.tokenRequests).toEqual([{ method: 'GET', user: 'alice', scopes: [] }]);
    const error = await loginToRegistry(registry.host, 'alice', 'nope', options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DevenvError);
    expect((error as DevenvError).code).toBe('REGISTRY_UNAUTHORIZED');
    expect((error as DevenvError).message).toContain(`login \`${registry.host}\`: the token service of ${registry.host} refused the credentials of \`alice\``);
  });

  it('verifies basic credentials', async () => {
    const registry = await start({ auth: 'basic', users: { bob: 'pw' } });
    expect((await loginToRegistry(registry.host, 'bob', 'pw', options)).verified).toBe(true);
    const error = await loginToRegistry(registry.host, 'bob', 'bad', options).catch((e: unknown) => e);
    expect((error as DevenvError).code).toBe('REGISTRY_UNAUTHORIZED');
    expect((error as DevenvError).message).toBe(`login \`${registry.host}\`: the registry refused the credentials of \`bob\` (401: authentication required)`);
  });

  it('says when the registry did not ask for credentials', async () => {
    const registry = await start({ auth: 'none' });
    expect(await loginToRegistry(registry.host, 'x', 'y', options)).toEqual({ registry: registry.host, verified: false });
  });
});
