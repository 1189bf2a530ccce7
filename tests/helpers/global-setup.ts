import { readBedEnv } from './bed.js';

/** Fails the integration run at once, with the fix, when the test bed is not up. */
export default function setup(): void {
  const env = readBedEnv();
  for (const [k, v] of Object.entries(env)) process.env[k] ??= v;
}
