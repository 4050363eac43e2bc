export { parseDuration, formatDuration, DURATION_PATTERN } from './duration.js';
