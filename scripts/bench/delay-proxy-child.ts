/** The delay proxy as a child process (see spawnDelayProxy); argv: upstream host and port [token server URL]. */
import { startDelayProxy, type ProxyReply, type ProxyRequest } from './delay-proxy.js';

const [host = '127.0.0.1', port = '5002', tokenServer] = process.argv.slice(2);
const send = (m: ProxyReply) => process.send?.(m);

// Ctrl-C reaches the whole process group: the parent cleans up and then closes us.
process.on('SIGINT', () => undefined);
process.on('disconnect', () => process.exit(0));

const tokenUrl = tokenServer ? new URL(tokenServer) : undefined;
const tokenProxy = tokenUrl ? await startDelayProxy({ host: tokenUrl.hostname, port: Number(tokenUrl.port) }, 0) : undefined;
const proxy = await startDelayProxy({ host, port: Number(port) }, 0, tokenUrl && tokenProxy ? { rewriteRealm: { from: tokenUrl.origin, to: `http://${tokenProxy.host}` } } : {});
process.on('message', (m: ProxyRequest) => {
  void (async () => {
    try {
      if (m.op === 'setDelay') {
        proxy.delayMs = m.ms;
        if (tokenProxy) tokenProxy.delayMs = m.ms;
      }
      else if (m.op === 'reset') proxy.reset();
      else if (m.op === 'counts') return send({ id: m.id, counts: proxy.counts() });
      else if (m.op === 'close') {
        await proxy.close();
        await tokenProxy?.close();
        send({ id: m.id });
        process.exit(0);
      }
      send({ id: m.id });
    } catch (err) {
      send({ id: m.id, error: err instanceof Error ? err.message : String(err) });
    }
  })();
});
send({ ready: proxy.port });
