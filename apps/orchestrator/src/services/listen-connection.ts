import pg from 'pg';
import type { Logger } from 'pino';

type Handler = (payload: string) => void;

/**
 * The replica's one LISTEN connection, shared by everything that hears from other replicas (claimable work, jobs
 * that changed, job types declared). Reconnects by itself; after every (re)connection `onConnected` callbacks run,
 * so a listener can catch up on what it may have missed while it was not listening.
 */
export class ListenConnection {
  private readonly handlers = new Map<string, Handler[]>();
  private readonly connected: (() => void)[] = [];
  private client: pg.Client | undefined;
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connectionString: string,
    private readonly log: Logger,
  ) {}

  /** Calls `fn` with the payload of every notification on `channel`. Subscribe before `start`. */
  subscribe(channel: string, fn: Handler): void {
    if (!/^[a-z_]+$/.test(channel)) throw new Error(`bad channel name ${channel}`);
    this.handlers.set(channel, [...(this.handlers.get(channel) ?? []), fn]);
  }

  /** Runs `fn` after every successful (re)connection. */
  onConnected(fn: () => void): void {
    this.connected.push(fn);
  }

  async start(): Promise<void> {
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    await this.client?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({
      connectionString: this.connectionString,
      application_name: 'hourglass-listen',
    });
    client.on('notification', (msg) => {
      for (const fn of this.handlers.get(msg.channel) ?? []) fn(msg.payload ?? '');
    });
    client.on('error', (err) => {
      this.log.warn({ err }, 'LISTEN connection lost; reconnecting');
      this.retryConnect(client);
    });
    client.on('end', () => this.retryConnect(client));
    try {
      await client.connect();
      for (const channel of this.handlers.keys()) await client.query(`LISTEN ${channel}`);
      this.client = client;
      for (const fn of this.connected) fn();
    } catch (err) {
      this.log.warn({ err }, 'cannot LISTEN yet; retrying');
      this.retryConnect(client);
    }
  }

  private retryConnect(client: pg.Client): void {
    if (this.stopped || this.reconnectTimer || (this.client && this.client !== client)) return;
    this.client = undefined;
    client.removeAllListeners('end');
    void client.end().catch(() => {});
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.connect();
    }, 1_000);
  }
}
