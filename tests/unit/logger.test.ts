import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/agent/logger.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { lines, logger: createLogger({ level: 'debug', destination }) };
}

describe('logger', () => {
  it('writes JSON with the design fields', () => {
    const { lines, logger } = capture();
    logger.child({ component: 'updater' }).info({ container: 'web', image: 'nginx:1', digest: 'sha256:ab', action: 'pull', durationMs: 12 }, 'pulled');
    const rec = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(rec).toMatchObject({ component: 'updater', container: 'web', image: 'nginx:1', digest: 'sha256:ab', action: 'pull', durationMs: 12, msg: 'pulled', level: 30 });
  });

  it('never writes passwords, tokens or Authorization headers', () => {
    const { lines, logger } = capture();
    logger.info({
      password: 'pw-1',
      token: 'tok-2',
      auth: { username: 'u', password: 'pw-3' },
      registry: { password: 'pw-4', token: 'tok-5' },
      headers: { authorization: 'Bearer tok-6' },
      req: { headers: { authorization: 'Basic dG9rLTc=', cookie: 'sid=tok-8' } },
      otpSecret: 'JBSWY3DPEHPK3PXP',
      jwtSecret: 'tok-9',
    }, 'event');
    const out = lines.join('');
    for (const secret of ['pw-1', 'tok-2', 'pw-3', 'pw-4', 'tok-5', 'tok-6', 'dG9rLTc=', 'tok-8', 'JBSWY3DPEHPK3PXP', 'tok-9']) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('[redacted]');
  });

  it('honours the level', () => {
    const { lines } = capture();
    const destination = new Writable({ write(c: Buffer, _e, cb) { lines.push(c.toString()); cb(); } });
    const logger = createLogger({ level: 'warn', destination });
    logger.info({}, 'hidden');
    logger.warn({}, 'shown');
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['shown']);
  });
});
