/** A listen address: ":8080", "0.0.0.0:8080", "127.0.0.1:0", "[::]:8080". */
export interface ListenAddr {
  /** Undefined means every interface. */
  host: string | undefined;
  port: number;
}

const ADDR = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/;

export function parseListenAddr(text: string): ListenAddr | null {
  const m = ADDR.exec(text);
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  const host = m[1] ?? m[2];
  return { host: host ? host : undefined, port };
}
