import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { onTestFinished } from 'vitest';
import { freePort } from './serve.js';

export function hasRedisSentinel(): boolean {
  try {
    execFileSync('redis-sentinel', ['--version'], { stdio: 'ignore' });
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** PEM files for TLS on every node and sentinel (server side) and for the helpers' connections (client side). */
export interface TlsFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** How the helpers connect: a password (the `default` user), TLS. */
export interface Access {
  readonly password?: string | undefined;
  readonly tls?: TlsFiles | undefined;
}

/** One command on a fresh connection (no retries, 2 s at most); rejects when nothing answers. */
export async function redisCommand(port: number, args: readonly string[], access: Access = {}): Promise<unknown> {
  const { password, tls } = access;
  const client = new Redis({
    host: '127.0.0.1', port, lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false,
    ...(password !== undefined ? { password } : {}),
    ...(tls !== undefined ? { tls: { ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key) } } : {}),
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.call(args[0] ?? 'PING', ...args.slice(1));
  } finally {
    client.disconnect();
  }
}

async function waitPing(port: number, access: Access = {}, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const r = await redisCommand(port, ['PING'], access).catch(() => '');
    if (r === 'PONG') return;
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error(`nothing answered PING on 127.0.0.1:${port}`);
}

export interface Node {
  readonly port: number;
  readonly child: ChildProcess;
  kill(): Promise<void>;
  /** SIGSTOP (frozen: its connections stay open, it answers nothing) or SIGCONT. */
  signal(sig: 'SIGSTOP' | 'SIGCONT'): void;
}

function startNode(bin: string, args: string[]): ChildProcess {
  const child = spawn(bin, args, { stdio: 'ignore' });
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGKILL');
      await gone;
    }
  });
  return child;
}

function node(port: number, child: ChildProcess): Node {
  return {
    port,
    child,
    signal: (sig) => void child.kill(sig),
    kill: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

/** A real redis-server primary and one replica of it on free ports, no persistence, files in `dir`; ready once the replica is in sync. */
export async function startReplicated(dir: string, user?: AclUser, tls?: TlsFiles): Promise<{ primary: Node; replica: Node }> {
  // --dir: a replica's full sync writes dump.rdb there, not in the working directory.
  const common = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  if (user !== undefined) common.push('--user', user.name, 'on', `>${user.password}`, '~*', '&*', '+@all');
  if (tls !== undefined) common.push(...tlsArgs(tls).flatMap((line) => line.split(' ').map((w, i) => (i === 0 ? `--${w}` : w))));
  const listen = (port: number): string[] => (tls !== undefined ? ['--port', '0', '--tls-port', String(port)] : ['--port', String(port)]);
  const access = { tls };
  const pPort = await freePort();
  const primary = node(pPort, startNode('redis-server', [...listen(pPort), ...common]));
  await waitPing(pPort, access);
  const rPort = await freePort();
  const replica = node(rPort, startNode('redis-server', [...listen(rPort), ...common, '--replicaof', '127.0.0.1', String(pPort)]));
  await waitPing(rPort, access);
  const deadline = Date.now() + 10_000;
  while (!String(await redisCommand(rPort, ['INFO', 'replication'], access)).includes('master_link_status:up')) {
    if (Date.now() > deadline) throw new Error('the replica did not sync');
    await new Promise((res) => setTimeout(res, 50));
  }
  return { primary, replica };
}

/** TLS config lines (server side, TLS to the other nodes too; client certificates optional). */
function tlsArgs(tls: TlsFiles): string[] {
  return [`tls-cert-file ${tls.cert}`, `tls-key-file ${tls.key}`, `tls-ca-cert-file ${tls.ca}`, 'tls-auth-clients optional', 'tls-replication yes'];
}

/** An ACL user on the nodes (the `default` user stays, without a password, for the helpers). */
export interface AclUser {
  readonly name: string;
  readonly password: string;
}

export interface SentinelSetOptions {
  /** The primary group name (default "turnout"). */
  readonly name?: string;
  /** An ACL user on the nodes; the sentinels log in as it (auth-user, auth-pass). */
  readonly user?: AclUser;
  /** The sentinels' own password (requirepass; they use it with each other too). */
  readonly sentinelPassword?: string;
  /** TLS only, on every node and sentinel (and between them). */
  readonly tls?: TlsFiles;
}

export interface SentinelSet {
  readonly name: string;
  primary: Node;
  readonly replica: Node;
  readonly sentinels: readonly Node[];
  /** The primary's port as the sentinels say it now. */
  primaryPort(): Promise<number | undefined>;
}

/**
 * A real primary, one replica and three sentinels (quorum 2) on free ports, no persistence,
 * with short timeouts (down after 1 s, failover timeout 3 s) so a failover takes seconds. Every
 * process is killed after the test. `dir` holds the sentinels' config files (they rewrite them).
 */
export async function startSentinelSet(dir: string, opts: SentinelSetOptions = {}): Promise<SentinelSet> {
  const name = opts.name ?? 'turnout';
  const spw = opts.sentinelPassword;
  const { primary, replica } = await startReplicated(dir, opts.user, opts.tls);
  const [pPort, rPort] = [primary.port, replica.port];
  const access: Access = { password: spw, tls: opts.tls };
  const nodeAccess: Access = { tls: opts.tls };
  const sentinels: Node[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const file = join(dir, `sentinel-${i}.conf`);
    writeFileSync(
      file,
      [
        ...(opts.tls !== undefined ? ['port 0', `tls-port ${port}`, ...tlsArgs(opts.tls)] : [`port ${port}`]),
        'bind 127.0.0.1',
        `sentinel monitor ${name} 127.0.0.1 ${pPort} 2`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 3000`,
        `sentinel parallel-syncs ${name} 1`,
        ...(opts.user !== undefined ? [`sentinel auth-user ${name} ${opts.user.name}`, `sentinel auth-pass ${name} ${opts.user.password}`] : []),
        ...(spw !== undefined ? [`requirepass ${spw}`, `sentinel sentinel-pass ${spw}`] : []),
        '',
      ].join('\n'),
    );
    sentinels.push(node(port, startNode('redis-sentinel', [file])));
  }
  for (const s of sentinels) await waitPing(s.port, access);
  // Ready once the replica is in sync and every sentinel knows it and the two other sentinels.
  const deadline = Date.now() + 15_000;
  for (;;) {
    const info = String(await redisCommand(rPort, ['INFO', 'replication'], nodeAccess));
    const known = await Promise.all(sentinels.map((s) => redisCommand(s.port, ['SENTINEL', 'replicas', name], access).catch(() => [])));
    const peers = await Promise.all(sentinels.map((s) => redisCommand(s.port, ['SENTINEL', 'sentinels', name], access).catch(() => [])));
    const synced = info.includes('master_link_status:up') && known.every((k) => JSON.stringify(k).includes(`"${rPort}"`));
    if (synced && peers.every((p) => Array.isArray(p) && p.length === 2)) break;
    if (Date.now() > deadline) throw new Error('the sentinel set did not come up');
    await new Promise((res) => setTimeout(res, 100));
  }
  const set: SentinelSet = {
    name,
    primary,
    replica,
    sentinels,
    async primaryPort() {
      for (const s of sentinels) {
        const r = await redisCommand(s.port, ['SENTINEL', 'get-master-addr-by-name', name], access).catch(() => undefined);
        if (Array.isArray(r) && r.length === 2) return Number(r[1]);
      }
      return undefined;
    },
  };
  return set;
}
