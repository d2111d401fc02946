/**
 * The webhook receiver: an HTTP request handler that reads a bounded body, checks `X-Hub-Signature-256` against the
 * raw bytes, answers at once (202 accepted, 200 for a redelivery already taken, 202 for an event it ignores) and
 * hands the work to a bounded queue that runs one job at a time. A delivery id (`X-GitHub-Delivery`) is run once;
 * a redelivery of a delivery whose run failed runs again. Nothing secret reaches a response or a log line.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { verifyWebhookSignature } from './webhook-signature.js';
import { WEBHOOK_EVENTS, webhookWork, type WebhookWork } from './webhook-events.js';

/** Options of {@link createWebhookReceiver}. */
export interface WebhookReceiverOptions {
  readonly secret: string | Uint8Array;
  /** Runs one delivery's work; a throw marks the delivery failed (a redelivery runs it again). */
  readonly run: (work: Exclude<WebhookWork, { kind: 'ignored' }>, delivery: string) => Promise<void>;
  /** Branch whose pushes are published (default: the payload's default branch). */
  readonly mainBranch?: string;
  /** Largest body read (default 5 MiB; GitHub caps payloads at 25 MB, ours are far smaller). */
  readonly maxBodyBytes?: number;
  /** Jobs waiting at most (default 100); beyond that a delivery gets 503 and is not remembered. */
  readonly maxQueued?: number;
  /** Delivery ids remembered (default 10,000, oldest forgotten first). */
  readonly maxDeliveries?: number;
  /** Milliseconds allowed for the body to arrive (default 10 s). */
  readonly bodyTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

/** A running receiver. */
export interface WebhookReceiver {
  /** Handles one HTTP request (mount it on a path of any node:http server). */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Resolves when the queue is empty and nothing runs. */
  idle(): Promise<void>;
  /** Stops taking work (503), drops the queued jobs (logging each delivery id) and waits for the job in progress. */
  close(): Promise<void>;
  /** Counts since start. */
  readonly stats: { accepted: number; duplicates: number; ignored: number; rejected: number; completed: number; failed: number };
}

type DeliveryState = 'queued' | 'running' | 'done' | 'failed';

/** Creates a receiver. */
export function createWebhookReceiver(options: WebhookReceiverOptions): WebhookReceiver {
  const maxBody = options.maxBodyBytes ?? 5 * 1024 * 1024;
  const maxQueued = options.maxQueued ?? 100;
  const maxDeliveries = options.maxDeliveries ?? 10_000;
  const log = options.log ?? (() => {});
  const deliveries = new Map<string, DeliveryState>();
  const queue: Array<{ delivery: string; work: Exclude<WebhookWork, { kind: 'ignored' }> }> = [];
  const stats = { accepted: 0, duplicates: 0, ignored: 0, rejected: 0, completed: 0, failed: 0 };
  let running = false;
  let closed = false;
  let idleWaiters: Array<() => void> = [];

  const remember = (id: string, state: DeliveryState): void => {
    deliveries.delete(id);
    deliveries.set(id, state);
    while (deliveries.size > maxDeliveries) deliveries.delete(deliveries.keys().next().value!);
  };

  const pump = (): void => {
    if (running) return;
    const job = queue.shift();
    if (!job) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
      return;
    }
    running = true;
    remember(job.delivery, 'running');
    options
      .run(job.work, job.delivery)
      .then(
        () => {
          stats.completed++;
          remember(job.delivery, 'done');
        },
        (err: unknown) => {
          stats.failed++;
          remember(job.delivery, 'failed');
          log(`delivery ${job.delivery} (${job.work.kind}) failed: ${(err as Error)?.message ?? String(err)}`);
        },
      )
      .finally(() => {
        running = false;
        pump();
      });
  };

  const answer = (res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void => {
    if (res.headersSent) return;
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify({ message }));
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== 'POST') {
      stats.rejected++;
      return answer(res, 405, 'webhooks are POSTed', { allow: 'POST' });
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBody) {
      stats.rejected++;
      answer(res, 413, `body above ${maxBody} bytes`, { connection: 'close' });
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      stats.rejected++;
      answer(res, 408, 'body took too long', { connection: 'close' });
      req.destroy();
    }, options.bodyTimeoutMs ?? 10_000);
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > maxBody) {
        done = true;
        clearTimeout(timer);
        stats.rejected++;
        answer(res, 413, `body above ${maxBody} bytes`, { connection: 'close' });
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => {
      done = true;
      clearTimeout(timer);
    });
    req.on('end', () => {
      clearTimeout(timer);
      if (done) return;
      done = true;
      accept(req, res, Buffer.concat(chunks));
    });
  };

  const accept = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    const signature = header(req, 'x-hub-signature-256');
    if (signature === undefined) {
      stats.rejected++;
      return answer(res, 401, 'missing X-Hub-Signature-256');
    }
    if (!verifyWebhookSignature(options.secret, body, signature)) {
      stats.rejected++;
      return answer(res, 401, 'signature does not match');
    }
    const event = header(req, 'x-github-event');
    const delivery = header(req, 'x-github-delivery');
    if (!event || !delivery || !/^[\w.-]{1,100}$/.test(delivery) || !/^[a-z_]{1,64}$/.test(event)) {
      stats.rejected++;
      return answer(res, 400, 'missing or malformed X-GitHub-Event or X-GitHub-Delivery');
    }
    const seen = deliveries.get(delivery);
    if (seen !== undefined && seen !== 'failed') {
      stats.duplicates++;
      return answer(res, 200, `delivery ${delivery} already ${seen === 'done' ? 'handled' : 'taken'}`);
    }
    if (!(WEBHOOK_EVENTS as readonly string[]).includes(event)) {
      stats.ignored++;
      return answer(res, 202, `event ${event} is ignored`);
    }
    let payload: unknown;
    try {
      payload = JSON.parse(body.toString('utf8'));
    } catch {
      stats.rejected++;
      return answer(res, 400, 'body is not JSON');
    }
    const work = webhookWork(event, payload, options.mainBranch);
    if (work.kind === 'ignored') {
      stats.ignored++;
      remember(delivery, 'done');
      return answer(res, 202, `ignored: ${work.reason}`);
    }
    if (closed || queue.length >= maxQueued) {
      stats.rejected++;
      return answer(res, 503, 'busy: try the delivery again later', { 'retry-after': '60' });
    }
    remember(delivery, 'queued');
    queue.push({ delivery, work });
    stats.accepted++;
    answer(res, 202, `accepted: ${work.kind}`);
    pump();
  };

  return {
    handle,
    stats,
    idle: () => (running || queue.length > 0 ? new Promise<void>((r) => idleWaiters.push(r)) : Promise.resolve()),
    async close() {
      closed = true;
      // Accepted work that will not run now: say which, so the deliveries can be redelivered from GitHub.
      for (const job of queue.splice(0)) {
        deliveries.delete(job.delivery);
        log(`delivery ${job.delivery} (${job.work.kind}) not run: stopping; redeliver it from the webhook's recent deliveries`);
      }
      if (running) await new Promise<void>((r) => idleWaiters.push(r));
    },
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}
