import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { DASHBOARD_SCRIPT, dashboardPage } from './dashboard-page.js';

/**
 * The CSP for the dashboard: nothing from elsewhere, the one inline script allowed by its hash,
 * data only from this origin (`/v1/stream` and the admin API), never framed.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  `script-src 'sha256-${createHash('sha256').update(DASHBOARD_SCRIPT, 'utf8').digest('base64')}'`,
  "style-src 'unsafe-inline'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** `GET /`: the live dashboard page. No token to load it; the data it reads needs one. */
export async function dashboardRoute(app: FastifyInstance): Promise<void> {
  const page = dashboardPage();
  app.get('/', { schema: { hide: true } }, async (_req, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-security-policy', DASHBOARD_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(page),
  );
}
