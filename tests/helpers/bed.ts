import { existsSync, readFileSync } from 'node:fs';

/** The test bed started by tests/bed/up.sh, read from /tmp/wd/bed.env. */
export interface Bed {
  dockerHost: string;
  /** Engine 20.10 (API 1.41); empty when only one engine runs (e.g. Docker Desktop). */
  dockerHost20: string;
  engines: string[];
  regPlain: string;
  regBasic: string;
  regBasicUser: string;
  regBasicPass: string;
  regToken: string;
  tokenServer: string;
  regTokenUser: string;
  regTokenPass: string;
  dockerConfig: string;
  baseImage: string;
  compose: boolean;
}

export const BED_ENV = process.env.WD_BED_ENV ?? '/tmp/wd/bed.env';

export function readBedEnv(path = BED_ENV): Record<string, string> {
  if (!existsSync(path)) throw new Error(`the test bed is not up (${path} is missing): run \`npm test\`, or bash tests/bed/up.sh`);
  const out: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1] as string] = m[2] as string;
  }
  return out;
}

let cached: Bed | undefined;

export function bed(): Bed {
  if (cached) return cached;
  const e = readBedEnv();
  const need = (k: string): string => {
    const v = e[k];
    if (!v) throw new Error(`${BED_ENV} has no ${k}`);
    return v;
  };
  cached = {
    dockerHost: need('WD_DOCKER_HOST'),
    dockerHost20: e.WD_DOCKER_HOST_20 ?? '',
    engines: (e.WD_ENGINES ?? need('WD_DOCKER_HOST')).split(' ').filter(Boolean),
    regPlain: need('WD_REG_PLAIN'),
    regBasic: need('WD_REG_BASIC'),
    regBasicUser: need('WD_REG_BASIC_USER'),
    regBasicPass: need('WD_REG_BASIC_PASS'),
    regToken: need('WD_REG_TOKEN'),
    tokenServer: need('WD_TOKEN_SERVER'),
    regTokenUser: need('WD_REG_TOKEN_USER'),
    regTokenPass: need('WD_REG_TOKEN_PASS'),
    dockerConfig: need('WD_DOCKER_CONFIG'),
    baseImage: need('WD_BASE_IMAGE'),
    compose: e.WD_COMPOSE === '1',
  };
  return cached;
}

/** A name unique to this run, for containers, images and networks a test creates. */
export function uniqueName(prefix: string): string {
  return `wdt-${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}
