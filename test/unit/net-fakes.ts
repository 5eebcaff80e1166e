// Fake servers on 127.0.0.1 (port 0) for the four-letter-word and AdminServer tests: a TCP
// registry of servers listening on port 0, with each one's port by name, that closes them all.
import http from 'node:http';
import net from 'node:net';

export interface FakeServers {
  /** Port of each fake by name, once listening. */
  ports: Record<string, number>;
  listen(name: string, s: net.Server | http.Server): Promise<void>;
  /** Stop listening (connections still open end on their own). */
  closeAll(): void;
}

export function fakeServers(): FakeServers {
  const servers: (net.Server | http.Server)[] = [];
  const ports: Record<string, number> = {};
  return {
    ports,
    listen: async (name, s) => {
      await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
      ports[name] = (s.address() as net.AddressInfo).port;
      servers.push(s);
    },
    closeAll: () => {
      for (const s of servers) s.close();
    },
  };
}

/** A port on 127.0.0.1 that nothing listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise((res) => s.close(res));
  return p;
}
