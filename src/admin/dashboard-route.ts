import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';

/** The page's files, beside this module: src/admin/dashboard/ (tests), dist/admin/dashboard/ (copied by the build). */
const ASSETS = new URL('./dashboard/', import.meta.url);
const STYLE_TAG = '<link rel="stylesheet" href="dashboard.css">';
/** `<script src="x.js"></script>` tags of index.html (local files only). */
const SCRIPT_TAGS = /<script src="([a-z0-9-]+\.js)"><\/script>\n?/g;

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
 * index.html with dashboard.css inlined in place of its link, and its scripts, in their order,
 * inlined as one script in one function scope in place of the first: one self-contained answer,
 * its one script allowed by hash. A page missing a file or a tag fails here, at start.
 */
async function dashboardPage(): Promise<{ html: string; csp: string }> {
  const read = (file: string): Promise<string> => readFile(new URL(file, ASSETS), 'utf8');
  const [html, style] = await Promise.all([read('index.html'), read('dashboard.css')]);
  const files = [...html.matchAll(SCRIPT_TAGS)].map((m) => m[1] as string);
  if (!html.includes(STYLE_TAG) || files.length === 0) throw new Error(`dashboard: index.html must link dashboard.css and name its scripts`);
  const scripts = await Promise.all(files.map(read));
  const script = `\n(() => {\n'use strict';\n${scripts.join('\n')}})();\n`;
  if (/<\/(script|style)/i.test(script + style)) throw new Error('dashboard: an inlined file may not close its own tag');
  let first = true;
  // Replacer functions: `$&` and the like in the files are text, not replacement patterns.
  const page = html
    .replace(STYLE_TAG, () => `<style>\n${style}</style>`)
    .replace(SCRIPT_TAGS, () => {
      const tag = first ? `<script>${script}</script>\n` : '';
      first = false;
      return tag;
    });
  return { html: page, csp: dashboardCsp(script) };
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
