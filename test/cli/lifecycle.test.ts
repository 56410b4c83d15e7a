import { EventEmitter } from 'node:events';
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { Lifecycle, type LifecycleLog, type ShutdownStep } from '../../proxy/lifecycle.js';
import { HttpDrainListener } from './http-drain-listener.js';

const open: HttpDrainListener[] = [];

afterEach(async () => {
  for (const l of open.splice(0)) {
    l.forceClose();
    if (l.server.listening) await new Promise<void>((r) => l.server.close(() => r()));
  }
});

interface LogLine {
  level: 'info' | 'warn';
  obj: object;
  msg: string;
}

function recordingLog(): { log: LifecycleLog; lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    log: {
      info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
      warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
    },
  };
}

/** A listener whose responses wait until the test releases them. */
async function slowListener(name: string): Promise<{
  listener: HttpDrainListener;
  port: number;
  arrived: Promise<void>;
  release: () => void;
}> {
  let release!: () => void;
  const released = new Promise<void>((r) => {
    release = r;
  });
  let arrivedResolve!: () => void;
  const arrived = new Promise<void>((r) => {
    arrivedResolve = r;
  });
  const listener = new HttpDrainListener(name, (_req, res) => {
    arrivedResolve();
    void released.then(() => res.end('done'));
  });
  open.push(listener);
  const port = await listener.listen();
  return { listener, port, arrived, release };
}

interface Reply {
  status: number;
  connection: string | undefined;
  body: string;
}

function get(port: number, agent?: http.Agent): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: agent ?? false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

describe('Lifecycle.shutdown', () => {
  it('stops accepting, lets the request in flight finish with Connection: close, then runs the steps and exits 0', async () => {
    const { listener, port, arrived, release } = await slowListener('l1');
    const { log } = recordingLog();
    const order: string[] = [];
    const exits: number[] = [];
    const steps: ShutdownStep[] = [
      { name: 'admin', run: () => void order.push('admin') },
      { name: 'flush', run: async () => void order.push('flush') },
    ];
    const lc = new Lifecycle({
      listeners: () => [listener],
      afterDrain: steps,
      drainTimeMs: 10_000,
      log,
      exit: (c) => {
        order.push(`exit:${c}`);
        exits.push(c);
      },
    });

    const inflight = get(port);
    await arrived;
    const done = lc.shutdown('SIGTERM');
    expect(lc.state).toBe('draining');
    expect(listener.events).toEqual(['stopAccepting', 'drain']);

    // New connections are refused while the old one is still being served.
    await expect(get(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(exits).toEqual([]);

    release();
    const reply = await inflight;
    expect(reply).toEqual({ status: 200, connection: 'close', body: 'done' });
    const outcome = await done;
    expect(outcome).toEqual({ reason: 'SIGTERM', forced: false, exitCode: 0 });
    expect(order).toEqual(['admin', 'flush', 'exit:0']);
    expect(listener.events).not.toContain('forceClose');
    expect(lc.state).toBe('stopped');
  });

  it('drains every listener and waits for the slowest', async () => {
    const a = await slowListener('a');
    const b = await slowListener('b');
    const exits: number[] = [];
    const lc = new Lifecycle({
      listeners: () => [a.listener, b.listener],
      afterDrain: [],
      drainTimeMs: 10_000,
      log: recordingLog().log,
      exit: (c) => void exits.push(c),
    });
    const ra = get(a.port);
    const rb = get(b.port);
    await Promise.all([a.arrived, b.arrived]);
    const done = lc.shutdown('quitquitquit');
    a.release();
    expect((await ra).status).toBe(200);
    expect(exits).toEqual([]);
    b.release();
    expect((await rb).connection).toBe('close');
    expect((await done).forced).toBe(false);
    expect(exits).toEqual([0]);
  });

  it('closes idle keep-alive connections at once instead of waiting for the deadline', async () => {
    const listener = new HttpDrainListener('idle', (_req, res) => res.end('ok'));
    open.push(listener);
    const port = await listener.listen();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await get(port, agent)).status).toBe(200);
      expect(listener.sockets.size).toBe(1);
      const exits: number[] = [];
      const lc = new Lifecycle({
        listeners: () => [listener],
        afterDrain: [],
        drainTimeMs: 60_000,
        log: recordingLog().log,
        exit: (c) => void exits.push(c),
      });
      const outcome = await lc.shutdown('SIGINT');
      expect(outcome.forced).toBe(false);
      expect(exits).toEqual([0]);
    } finally {
      agent.destroy();
    }
  });

  it('force-closes what is left when the drain deadline passes, and still exits 0', async () => {
    const { listener, port, arrived } = await slowListener('stuck');
    const { log, lines } = recordingLog();
    const exits: number[] = [];
    const lc = new Lifecycle({
      listeners: () => [listener],
      afterDrain: [],
      drainTimeMs: 150,
      log,
      exit: (c) => void exits.push(c),
    });
    const inflight = get(port).catch((e: unknown) => e);
    await arrived;
    const started = Date.now();
    const outcome = await lc.shutdown('SIGTERM');
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(outcome).toEqual({ reason: 'SIGTERM', forced: true, exitCode: 0 });
    expect(listener.events).toEqual(['stopAccepting', 'drain', 'forceClose']);
    expect(exits).toEqual([0]);
    expect(await inflight).toMatchObject({ code: 'ECONNRESET' });
    expect(lines.some((l) => l.level === 'warn' && /deadline/.test(l.msg))).toBe(true);
  });

  it('clamps a drain time beyond the timer range instead of letting it fire at once', async () => {
    const { listener, port, arrived, release } = await slowListener('long');
    const lc = new Lifecycle({
      listeners: () => [listener],
      afterDrain: [],
      drainTimeMs: 4294967295 * 1000,
      log: recordingLog().log,
      exit: () => {},
    });
    const inflight = get(port);
    await arrived;
    const done = lc.shutdown('SIGTERM');
    // An unclamped timer would fire after 1 ms; give it ample time to misfire before releasing.
    await new Promise((r) => setTimeout(r, 50));
    release();
    expect((await inflight).status).toBe(200);
    expect((await done).forced).toBe(false);
  });

  it('is idempotent: a second shutdown returns the first one and exits once', async () => {
    const exits: number[] = [];
    const lc = new Lifecycle({
      listeners: () => [],
      afterDrain: [],
      drainTimeMs: 1000,
      log: recordingLog().log,
      exit: (c) => void exits.push(c),
    });
    const p1 = lc.shutdown('quitquitquit');
    const p2 = lc.shutdown('SIGTERM');
    expect(p2).toBe(p1);
    expect((await p1).reason).toBe('quitquitquit');
    expect(exits).toEqual([0]);
  });

  it('bounds a stuck after-drain step and survives failing listeners and steps', async () => {
    const { log, lines } = recordingLog();
    const exits: number[] = [];
    const ran: string[] = [];
    const lc = new Lifecycle({
      listeners: () => [
        {
          name: 'broken',
          stopAccepting: () => {
            throw new Error('boom');
          },
          drain: () => Promise.reject(new Error('drain boom')),
          forceClose: () => {},
        },
      ],
      afterDrain: [
        { name: 'never', run: () => new Promise<void>(() => {}) },
        {
          name: 'throws',
          run: () => {
            throw new Error('step boom');
          },
        },
        { name: 'last', run: () => void ran.push('last') },
      ],
      drainTimeMs: 1000,
      stepTimeoutMs: 50,
      log,
      exit: (c) => void exits.push(c),
    });
    const outcome = await lc.shutdown('SIGTERM');
    expect(outcome.forced).toBe(false);
    expect(ran).toEqual(['last']);
    expect(exits).toEqual([0]);
    const warnings = lines.filter((l) => l.level === 'warn').map((l) => l.msg);
    expect(warnings).toEqual([
      'listener failed to stop accepting',
      'listener drain failed',
      'shutdown step timed out',
      'shutdown step failed',
    ]);
  });
});

describe('Lifecycle signals', () => {
  it('drains on the first signal and exits 128+N on the second', async () => {
    const { listener, port, arrived, release } = await slowListener('sig');
    const exits: number[] = [];
    const lc = new Lifecycle({
      listeners: () => [listener],
      afterDrain: [],
      drainTimeMs: 10_000,
      log: recordingLog().log,
      exit: (c) => void exits.push(c),
    });
    const target = new EventEmitter();
    const uninstall = lc.installSignalHandlers(target as unknown as NodeJS.Process);
    const inflight = get(port);
    await arrived;

    target.emit('SIGTERM');
    expect(lc.state).toBe('draining');
    expect(exits).toEqual([]);
    target.emit('SIGINT');
    expect(exits).toEqual([130]);
    expect(lc.state).toBe('stopped');

    // The drain that was under way must not exit a second time when it completes.
    release();
    await inflight;
    await lc.shutdown('again');
    expect(exits).toEqual([130]);

    uninstall();
    expect(target.listenerCount('SIGTERM')).toBe(0);
    expect(target.listenerCount('SIGINT')).toBe(0);
  });

  it('uses the signal number of the second signal', async () => {
    const exits: number[] = [];
    const lc = new Lifecycle({
      listeners: () => [
        {
          name: 'hang',
          stopAccepting: () => {},
          drain: () => new Promise<void>(() => {}),
          forceClose: () => {},
        },
      ],
      afterDrain: [],
      drainTimeMs: 100,
      log: recordingLog().log,
      exit: (c) => void exits.push(c),
    });
    lc.onSignal('SIGINT');
    lc.onSignal('SIGTERM');
    expect(exits).toEqual([143]);
    // Let the abandoned drain reach its deadline so no timer outlives the test; it must not exit again.
    expect((await lc.shutdown('SIGINT')).forced).toBe(true);
    expect(exits).toEqual([143]);
  });
});
