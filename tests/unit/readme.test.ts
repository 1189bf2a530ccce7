import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { envName } from '../../src/core/config/env.js';
import { ConfigSchema } from '../../src/core/config/schema.js';

type Node = { type: string; entries?: Record<string, Node>; wrapped?: Node; item?: Node };

function leaves(schema: Node, path: string[], envPath: string[], out: { key: string; env: string }[]): void {
  let s = schema;
  while (s.type === 'optional' && s.wrapped) s = s.wrapped;
  if (s.type === 'strict_object' && s.entries) {
    for (const [k, child] of Object.entries(s.entries)) leaves(child, [...path, k], [...envPath, envName(k)], out);
  } else if (s.type === 'array' && s.item?.type === 'strict_object') {
    leaves(s.item, [`${path.join('.')}[]`], [...envPath, '<n>'], out);
  } else {
    out.push({ key: path.join('.'), env: `WATCH_${envPath.join('_')}` });
  }
}

describe('README configuration reference', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const all: { key: string; env: string }[] = [];
  leaves(ConfigSchema as unknown as Node, [], [], all);

  it.each(all)('documents $key', ({ key, env }) => {
    expect(readme).toContain(`| \`${key}\` |`);
    if (key !== 'twofa.users') expect(readme).toContain(`\`${env}\``);
  });
});
