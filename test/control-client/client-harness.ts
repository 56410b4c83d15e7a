import { afterEach } from 'vitest';
import { XdsClient, type XdsClientOptions } from '../../control-client/index.js';
import { AdsTestServer } from './ads-test-server.js';

export interface AdsClientPair {
  readonly server: AdsTestServer;
  readonly client: XdsClient;
}

export interface AdsClientHarness {
  /** Starts an ADS test server and an XdsClient aimed at it (the file's defaults, then `extra`). */
  setup(extra?: Partial<XdsClientOptions>): Promise<AdsClientPair>;
  /** Starts a replacement server on `port` (reconnect tests); it is closed after the test too. */
  restartServer(port: number): Promise<AdsTestServer>;
}

/** For a test file: the server and client that `setup` starts are closed after each test. */
export function adsClientSetup(defaults: Omit<XdsClientOptions, 'target'>): AdsClientHarness {
  let server: AdsTestServer | null = null;
  let client: XdsClient | null = null;
  afterEach(() => {
    client?.close();
    client = null;
    server?.kill();
    server = null;
  });
  return {
    async setup(extra = {}) {
      server = await AdsTestServer.start();
      client = new XdsClient({ target: server.target, ...defaults, ...extra });
      return { server, client };
    },
    async restartServer(port) {
      server?.kill();
      server = await AdsTestServer.start(port);
      return server;
    },
  };
}
