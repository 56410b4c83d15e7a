import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LogRegistry, toEnvoyLevel, toPinoLevel } from '../../proxy/observability/logger.js';

function capture(): { lines: () => Array<Record<string, unknown>>; stream: Writable } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('logger', () => {
  it('maps Envoy level names to pino and back', () => {
    expect(toPinoLevel('warning')).toBe('warn');
    expect(toPinoLevel('warn')).toBe('warn');
    expect(toPinoLevel('critical')).toBe('fatal');
    expect(toPinoLevel('off')).toBe('silent');
    expect(toPinoLevel('verbose')).toBeUndefined();
    expect(toEnvoyLevel('fatal')).toBe('critical');
    expect(toEnvoyLevel('warn')).toBe('warning');
  });

  it('writes JSON lines with level labels and component, honouring the level', () => {
    const c = capture();
    const reg = new LogRegistry({ level: 'info', destination: c.stream });
    const up = reg.component('upstream');
    up.debug('hidden');
    up.info({ cluster: 'a' }, 'shown');
    reg.root.warn('root warn');
    const lines = c.lines();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 'info', component: 'upstream', cluster: 'a', msg: 'shown' });
    expect(typeof lines[0].time).toBe('string');
    expect(lines[1]).toMatchObject({ level: 'warn', msg: 'root warn' });
  });

  it('changes the level at runtime for components created before the change', () => {
    const c = capture();
    const reg = new LogRegistry({ level: 'info', destination: c.stream });
    const a = reg.component('admin');
    const b = reg.component('http');
    expect(reg.setLevel('debug')).toBe(true);
    a.debug('a-debug');
    b.debug('b-debug');
    expect(c.lines().map((l) => l.msg)).toEqual(['a-debug', 'b-debug']);
    expect(reg.level).toBe('debug');
    expect(reg.setLevel('nonsense')).toBe(false);
    expect(reg.setComponentLevel('http', 'critical')).toBe(true);
    expect(reg.setComponentLevel('nope', 'info')).toBe(false);
    expect(reg.levels()).toEqual([
      ['admin', 'debug'],
      ['http', 'critical'],
    ]);
    expect(reg.setLevel('off')).toBe(true);
    a.error('silent');
    expect(c.lines()).toHaveLength(2);
  });
});
