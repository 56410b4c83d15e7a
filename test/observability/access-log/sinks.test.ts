import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccessLogFiles, FileSink } from '../../../proxy/observability/access-log/file-sink.js';
import { StreamSink } from '../../../proxy/observability/access-log/stream-sink.js';
import { StatsStore } from '../../../proxy/observability/stats.js';

let dir: string;
const open: FileSink[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'remora-al-'));
});
afterEach(async () => {
  for (const f of open.splice(0)) await f.close();
  rmSync(dir, { recursive: true, force: true });
});

function sink(path: string, opts: ConstructorParameters<typeof FileSink>[1] = {}): FileSink {
  const f = new FileSink(path, opts);
  open.push(f);
  return f;
}

describe('file sink', () => {
  it('buffers lines and writes them on flush, in order, appending', async () => {
    const path = join(dir, 'a.log');
    const stats = new StatsStore();
    const f = sink(path, { stats, flushIntervalMs: 60_000 });
    for (let i = 0; i < 100; i++) f.write(`line ${i}\n`);
    // Nothing has been written synchronously: write() never touches the disk.
    expect(readFileSync(path, 'utf8')).toBe('');
    await f.flush();
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(100);
    expect(lines[0]).toBe('line 0');
    expect(lines[99]).toBe('line 99');
    expect(stats.counter('filesystem.write_buffered').value).toBe(100);
    expect(stats.counter('filesystem.write_completed').value).toBeGreaterThanOrEqual(1);
    expect(stats.gauge('filesystem.write_total_buffered').value).toBe(0);
  });

  it('starts a write by itself once the size threshold is reached', async () => {
    const path = join(dir, 'b.log');
    const f = sink(path, { minFlushBytes: 10, flushIntervalMs: 60_000 });
    f.write('0123456789abc\n');
    const deadline = Date.now() + 2000;
    while (readFileSync(path, 'utf8') === '' && Date.now() < deadline)
      await new Promise((r) => setImmediate(r));
    expect(readFileSync(path, 'utf8')).toBe('0123456789abc\n');
  });

  it('flushes on its timer', async () => {
    const path = join(dir, 'c.log');
    const stats = new StatsStore();
    const f = sink(path, { flushIntervalMs: 20, stats });
    f.write('timed\n');
    const deadline = Date.now() + 3000;
    while (readFileSync(path, 'utf8') === '' && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    expect(readFileSync(path, 'utf8')).toBe('timed\n');
    expect(stats.counter('filesystem.flushed_by_timer').value).toBeGreaterThanOrEqual(1);
  });

  it('writes concurrent bursts completely and keeps appending to existing content', async () => {
    const path = join(dir, 'd.log');
    const f1 = sink(path, { minFlushBytes: 64, flushIntervalMs: 60_000 });
    for (let i = 0; i < 2000; i++) f1.write(`${i}\n`);
    await f1.flush();
    await f1.close();
    const f2 = sink(path, { flushIntervalMs: 60_000 });
    f2.write('after\n');
    await f2.close();
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(2001);
    expect(lines.slice(0, 2000)).toEqual(Array.from({ length: 2000 }, (_, i) => String(i)));
    expect(lines[2000]).toBe('after');
  });

  it('writes what is left synchronously on closeSync and drops lines after close', async () => {
    const path = join(dir, 'e.log');
    const f = new FileSink(path, { flushIntervalMs: 60_000 });
    f.write('last words\n');
    f.closeSync();
    expect(readFileSync(path, 'utf8')).toBe('last words\n');
    f.write('too late\n');
    expect(f.dropped).toBe(1);
  });

  it('drops beyond its buffer bound instead of growing without limit', async () => {
    const path = join(dir, 'f.log');
    const f = sink(path, { maxBufferBytes: 10, minFlushBytes: 1_000_000, flushIntervalMs: 60_000 });
    f.write('12345\n');
    f.write('67890\n');
    expect(f.dropped).toBe(1);
    await f.flush();
    expect(readFileSync(path, 'utf8')).toBe('12345\n');
  });

  it('reopens the path after rotation', async () => {
    const path = join(dir, 'g.log');
    const f = sink(path, { flushIntervalMs: 60_000 });
    f.write('before\n');
    await f.flush();
    renameSync(path, `${path}.1`);
    f.reopen();
    f.write('after\n');
    await f.flush();
    expect(readFileSync(`${path}.1`, 'utf8')).toBe('before\n');
    expect(readFileSync(path, 'utf8')).toBe('after\n');
  });

  it('throws when the file cannot be opened', () => {
    expect(() => new FileSink(join(dir, 'no-such-dir', 'x.log'))).toThrow(/ENOENT/);
  });

  it('shares one sink per path', async () => {
    const files = new AccessLogFiles({ flushIntervalMs: 60_000 });
    const a = files.open(join(dir, 'h.log'));
    const b = files.open(join(dir, 'h.log'));
    expect(a).toBe(b);
    a.write('x\n');
    await files.closeAll();
    expect(readFileSync(join(dir, 'h.log'), 'utf8')).toBe('x\n');
  });
});

describe('stream sink', () => {
  it('batches lines of one tick into one write and flushes', async () => {
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (c) => chunks.push(String(c)));
    const s = new StreamSink(out);
    s.write('a\n');
    s.write('b\n');
    await s.flush();
    expect(chunks).toEqual(['a\nb\n']);
  });

  it('waits for drain when the stream pushes back', async () => {
    const out = new PassThrough({ highWaterMark: 4 });
    const s = new StreamSink(out);
    s.write('0123456789\n');
    await new Promise((r) => setImmediate(r));
    s.write('second\n');
    const flushed = s.flush();
    let done = false;
    void flushed.then(() => {
      done = true;
    });
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    const got: string[] = [];
    out.on('data', (c) => got.push(String(c)));
    await flushed;
    const deadline = Date.now() + 2000;
    while (got.join('') !== '0123456789\nsecond\n' && Date.now() < deadline)
      await new Promise((r) => setImmediate(r));
    expect(got.join('')).toBe('0123456789\nsecond\n');
  });
});
