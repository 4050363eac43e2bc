export { RolloutController } from './controller.js';
export type { StartRollout, RolloutAction, RolloutProgress, RolloutControllerOptions } from './controller.js';
export { localMirror } from './mirror-port.js';
export { safeUrl, httpWebhook, prometheusMetrics, noPrometheus, numberOf } from './ports.js';
export type { WebhookPort, MetricPort, MirrorPort, WebhookPayload } from './ports.js';
export type { RolloutEventSink } from './hooks.js';
