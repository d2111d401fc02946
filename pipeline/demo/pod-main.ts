/**
 * One demo pod's workload, run inside its network namespace (`ip netns exec NS node pod-main.js '<json>'`): servers
 * on the pod's container ports (TCP accepts and closes; UDP answers each datagram) and a client that opens each of
 * the pod's connections over and over. It prints `{"ready":true}` once its servers listen, then one JSON line per
 * attempt: `{"c":ID,"ok":BOOL,"why":REASON}`. Builtins only: it starts in every pod of the demo.
 */
import { createSocket } from 'node:dgram';
import { createServer, Socket } from 'node:net';

interface PodWork {
  readonly serve: readonly { port: number; protocol: 'TCP' | 'UDP' }[];
  readonly connect: readonly { id: number; ip: string; port: number; protocol: 'TCP' | 'UDP' }[];
  /** Pause between two attempts of one connection. */
  readonly intervalMs: number;
  /** An attempt with no answer by then counts as blocked. */
  readonly timeoutMs: number;
}

const work = JSON.parse(process.argv[2] ?? '{}') as PodWork;
const out = (o: unknown): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};

async function listen(): Promise<void> {
  await Promise.all(
    work.serve.map(
      ({ port, protocol }) =>
        new Promise<void>((resolve, reject) => {
          if (protocol === 'UDP') {
            const s = createSocket('udp4');
            s.on('message', (msg, from) => s.send(msg, from.port, from.address));
            s.once('error', reject);
            s.bind(port, '0.0.0.0', () => resolve());
          } else {
            const s = createServer((socket) => socket.end());
            s.once('error', reject);
            s.listen(port, '0.0.0.0', () => resolve());
          }
        }),
    ),
  );
}

/** One attempt: `ok`, or why not (`timeout`: no answer, the packets were dropped; `refused`; another error code). */
function attempt(c: PodWork['connect'][number]): Promise<string> {
  return new Promise((resolve) => {
    let close = (): void => {};
    let settled = false;
    const done = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      close();
      resolve(why);
    };
    const timer = setTimeout(() => done('timeout'), work.timeoutMs);
    const failed = (e: NodeJS.ErrnoException): void => done(e.code === 'ECONNREFUSED' ? 'refused' : (e.code ?? 'error'));
    if (c.protocol === 'UDP') {
      const s = createSocket('udp4');
      close = () => s.close();
      s.once('message', () => done('ok'));
      s.once('error', failed);
      s.send('palisade-demo', c.port, c.ip);
    } else {
      const socket = new Socket();
      close = () => socket.destroy();
      socket.once('connect', () => done('ok'));
      socket.once('error', failed);
      socket.connect(c.port, c.ip);
    }
  });
}

async function loop(c: PodWork['connect'][number]): Promise<never> {
  for (;;) {
    const why = await attempt(c);
    out({ c: c.id, ok: why === 'ok', why });
    await new Promise((r) => setTimeout(r, work.intervalMs));
  }
}

listen().then(
  () => {
    out({ ready: true });
    // Spread the first attempts so the connections do not all start in the same millisecond.
    work.connect.forEach((c, i) => setTimeout(() => void loop(c), (i * work.intervalMs) / Math.max(1, work.connect.length)));
  },
  (err: Error) => {
    out({ ready: false, error: err.message });
    process.exit(1);
  },
);
process.on('SIGTERM', () => process.exit(0));
