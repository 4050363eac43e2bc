// Admin API calls for tests; no import of src/ here, so tests that only run the built CLI stay light.

export const TOKEN = 'test-token';
export const READ_TOKEN = 'read-token';

/** Where an admin API listens: a Turnout in this process, or one in a child process. */
export interface AdminAt {
  readonly adminUrl: string;
}

/** Calls the admin API with the write token. */
export function api(
  t: AdminAt,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  return apiAs(t, TOKEN, method, path, body, headers);
}

/** Calls the admin API with the given token, or with no Authorization header when undefined. */
export async function apiAs(
  t: AdminAt,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const h: Record<string, string> = {};
  if (token !== undefined) h.authorization = `Bearer ${token}`;
  if (body !== undefined) h['content-type'] = 'application/json';
  const res = await fetch(`${t.adminUrl}${path}`, {
    method,
    headers: { ...h, ...headers },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** One worker process as `GET /v1/fleet` shows it (reported every 250 ms while anything changes, and on each GET /v1/fleet). */
export interface FleetWorker {
  readonly pid: number;
  readonly generation: number;
  readonly state: string;
  /** Its requests and upgrades in flight. */
  readonly inFlight: number;
  readonly connections: { readonly total: number; readonly open: number };
}

/** This instance's worker processes, from `GET /v1/fleet` (none when the data plane runs in-process). */
export async function fleetWorkers(t: AdminAt): Promise<FleetWorker[]> {
  const fleet = await api(t, 'GET', '/v1/fleet');
  if (fleet.status !== 200) throw new Error(`GET /v1/fleet answered ${fleet.status}: ${JSON.stringify(fleet.body)}`);
  return (fleet.body.instances[0].workers ?? []) as FleetWorker[];
}
