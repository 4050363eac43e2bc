import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';

/** The page's files, beside this module: src/admin/dashboard/ (tests), dist/admin/dashboard/ (copied by the build). */
const ASSETS = new URL('./dashboard/', import.meta.url);
const STYLE_TAG = '<link rel="stylesheet" href="dashboard.css">';
const SCRIPT_TAG = '<script src="dashboard.js"></script>';

/**
 * The CSP for the dashboard: nothing from elsewhere, the one inline script allowed by its hash,
 * data only from this origin (`/v1/stream` and the admin API), never framed.
 */
function dashboardCsp(script: string): string {
  return [
    "default-src 'self'",
    `script-src 'sha256-${createHash('sha256').update(script, 'utf8').digest('base64')}'`,
    "style-src 'unsafe-inline'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * index.html with dashboard.css and dashboard.js inlined in place of the tags that name them: one
 * self-contained answer, its script allowed by hash. A page missing either tag fails here, at start.
 */
async function dashboardPage(): Promise<{ html: string; csp: string }> {
  const read = (file: string): Promise<string> => readFile(new URL(file, ASSETS), 'utf8');
  const [html, style, script] = await Promise.all([read('index.html'), read('dashboard.css'), read('dashboard.js')]);
  if (!html.includes(STYLE_TAG) || !html.includes(SCRIPT_TAG)) throw new Error(`dashboard: index.html must contain ${STYLE_TAG} and ${SCRIPT_TAG}`);
  if (/<\/(script|style)/i.test(script + style)) throw new Error('dashboard: an inlined asset may not close its own tag');
  const inline = `\n${script}`;
  // Replacer functions: `$&` and the like in the assets are text, not replacement patterns.
  const page = html.replace(STYLE_TAG, () => `<style>\n${style}</style>`).replace(SCRIPT_TAG, () => `<script>${inline}</script>`);
  return { html: page, csp: dashboardCsp(inline) };
}

/** `GET /`: the live dashboard page. No token to load it; the data it reads needs one. */
export async function dashboardRoute(app: FastifyInstance): Promise<void> {
  const page = await dashboardPage();
  app.get('/', { schema: { hide: true } }, async (_req, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-security-policy', page.csp)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(page.html),
  );
}
