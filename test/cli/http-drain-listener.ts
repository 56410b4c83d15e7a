/**
 * A real HTTP/1.1 server that implements the DrainableListener interface the way the proxy's
 * listeners do (stop accepting, Connection: close while draining, resolve when the last connection
 * closes), so that the lifecycle's sequencing is tested over real sockets.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { DrainableListener } from '../../proxy/lifecycle.js';

export class HttpDrainListener implements DrainableListener {
  readonly server: http.Server;
  readonly sockets = new Set<Socket>();
  draining = false;
  events: string[] = [];
  private idleWaiters: (() => void)[] = [];

  constructor(
    readonly name: string,
    handler: (req: http.IncomingMessage, res: http.ServerResponse) => void,
  ) {
    this.server = http.createServer((req, res) => {
      if (this.draining) res.setHeader('connection', 'close');
      handler(req, res);
    });
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => {
        this.sockets.delete(s);
        if (this.sockets.size === 0) this.wakeIdle();
      });
    });
  }

  async listen(): Promise<number> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return (this.server.address() as AddressInfo).port;
  }

  stopAccepting(): void {
    this.events.push('stopAccepting');
    this.server.close();
  }

  drain(): Promise<void> {
    this.events.push('drain');
    this.draining = true;
    // Idle keep-alive connections have nothing in flight: close them now.
    this.server.closeIdleConnections();
    if (this.sockets.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  forceClose(): void {
    this.events.push('forceClose');
    for (const s of this.sockets) s.destroy();
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
