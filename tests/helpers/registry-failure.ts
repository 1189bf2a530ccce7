import { expect } from 'vitest';
import { RegistryError } from '../../src/core/registry/errors.js';

/** Awaits a registry call that must fail; checks the error is a RegistryError carrying none of the secrets. */
export async function registryFailure(p: Promise<unknown>, secrets: readonly string[]): Promise<RegistryError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(RegistryError);
    const e = err as RegistryError;
    for (const secret of secrets) expect(`${e.message} ${JSON.stringify(e.data)}`).not.toContain(secret);
    return e;
  }
  throw new Error('expected a failure');
}
