import net from 'node:net';
import type { Listeners } from './successor.js';

/** systemd passes the first socket as fd 3 (SD_LISTEN_FDS_START). */
const FIRST_FD = 3;

/** What the environment says systemd passed: the data plane's fd, and the admin listener's if any. */
export interface Activation {
  readonly data: number;
  readonly admin: number | undefined;
}

/**
 * Reads systemd's socket activation variables (sd_listen_fds(3)): none set, or set for another
 * process (LISTEN_PID is not `pid`), is no activation. With names (LISTEN_FDNAMES, the units'
 * `FileDescriptorName=`), `proxy` and `admin` say which is which; without, the first is the data
 * plane's and a second the admin listener's. Pure; throws a plain message for what cannot be used.
 */
export function readActivation(env: NodeJS.ProcessEnv, pid: number): Activation | undefined {
  if (env.LISTEN_FDS === undefined || env.LISTEN_PID === undefined) return undefined;
  if (Number(env.LISTEN_PID) !== pid) return undefined;
  const count = Number(env.LISTEN_FDS);
  if (!Number.isInteger(count) || count < 1 || count > 2) throw new Error(`LISTEN_FDS is "${env.LISTEN_FDS}": turnout takes 1 socket (the proxy's) or 2 (the proxy's and the admin listener's)`);
  const names = env.LISTEN_FDNAMES?.split(':');
  if (names === undefined || names.every((n) => n === '' || n === 'unknown')) return { data: FIRST_FD, admin: count === 2 ? FIRST_FD + 1 : undefined };
  const at = (name: string): number | undefined => {
    const i = names.indexOf(name);
    return i < 0 || i >= count ? undefined : FIRST_FD + i;
  };
  const data = at('proxy');
  if (data === undefined) throw new Error(`LISTEN_FDNAMES is "${env.LISTEN_FDNAMES}": no socket named "proxy" (FileDescriptorName=proxy in the .socket unit)`);
  return { data, admin: at('admin') };
}

type CreateHandle = (address: string | null, port: number, addressType: number, fd: number, flags: number) => object | number;

/**
 * The listeners systemd passed this process, as a supervisor upgrade would pass them: the data
 * plane's socket as a listening handle every worker accepts on (one socket, shared), the admin's
 * as `{ fd }` for its server to listen on. The variables are removed so no child reads them.
 */
export function activatedListeners(env: NodeJS.ProcessEnv = process.env, pid = process.pid): Listeners | undefined {
  const a = readActivation(env, pid);
  for (const k of ['LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES']) delete env[k];
  if (a === undefined) return undefined;
  const make = (net as unknown as { _createServerHandle?: CreateHandle })._createServerHandle;
  if (typeof make !== 'function') throw new Error('this runtime cannot take a listening socket from systemd');
  const handle = make(null, 0, 4, a.data, 0);
  if (typeof handle === 'number') throw new Error(`fd ${a.data} from systemd is not a listening TCP socket (error ${handle})`);
  return { data: [handle], admin: a.admin === undefined ? undefined : { fd: a.admin } };
}
