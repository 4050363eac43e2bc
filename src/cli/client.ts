/** A small client for the admin API, used by the CLI commands. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

export interface ClientOptions {
  readonly baseUrl: string;
  readonly token: string | undefined;
  readonly actor?: string | undefined;
}

export class AdminClient {
  constructor(private readonly opts: ClientOptions) {}

  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    if (this.opts.actor) headers['x-turnout-actor'] = this.opts.actor;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(new URL(path, this.opts.baseUrl), {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new ApiError(0, 'unreachable', `cannot reach the admin API at ${this.opts.baseUrl}: ${cause?.code ?? cause?.message ?? (err as Error).message}`, undefined);
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    if (res.status >= 400) {
      const e = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new ApiError(res.status, e?.code ?? String(res.status), e?.message ?? (typeof parsed === 'string' ? parsed : res.statusText), parsed);
    }
    return { status: res.status, body: parsed as T };
  }
}
