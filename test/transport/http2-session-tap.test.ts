/**
 * The one reach into grpc-js internals (plugins/transport-grpc/http2-session-tap.ts) against the
 * installed @grpc/grpc-js: fails when an upgrade moves its HTTP/2 servers or sessions, so ping
 * policing never silently stops.
 */
import http2 from 'node:http2';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { tapHttp2Sessions } from '../../plugins/transport-grpc/http2-session-tap';

function bind(server: Server): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
  );
}

function connected(port: number): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  return new Promise((resolve, reject) => {
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

describe('tapHttp2Sessions (grpc-js private HTTP/2 servers)', () => {
  test('sees the sessions open before the tap and every later one, with their pings', async () => {
    const server = new Server();
    const port = await bind(server);
    const clients: http2.ClientHttp2Session[] = [];
    try {
      clients.push(await connected(port));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const seen: http2.ServerHttp2Session[] = [];
      expect(tapHttp2Sessions(server, (session) => seen.push(session))).toBe(true);
      expect(seen).toHaveLength(1);

      clients.push(await connected(port));
      const pinged = new Promise<void>((resolve) => {
        const check = () => (seen.length === 2 ? seen[1].once('ping', () => resolve()) : setTimeout(check, 10));
        check();
      });
      clients[1].ping(() => undefined);
      await pinged;
      expect(seen[1].socket.remotePort).toBe(clients[1].socket.localPort);
    } finally {
      for (const client of clients) client.destroy();
      server.forceShutdown();
    }
  });

  test('says false for a server with no listener (nothing to police yet)', () => {
    const server = new Server();
    expect(tapHttp2Sessions(server, () => undefined)).toBe(false);
    server.forceShutdown();
  });
});
