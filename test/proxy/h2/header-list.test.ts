import { expect, test } from 'vitest';
import { headerListSize } from '../../../src/proxy/h2/header-list.js';

// RFC 9113 §6.5.2: name + value octets + 32 per field (what SETTINGS_MAX_HEADER_LIST_SIZE bounds).
test.each([
  [[], 0],
  [[':method', 'GET'], 7 + 3 + 32],
  [[':method', 'GET', ':path', '/'], 42 + 5 + 1 + 32],
  [['x-a', ''], 3 + 32],
  [['x-big', 'b'.repeat(16_000)], 5 + 16_000 + 32],
])('headerListSize(%j) = %i', (raw, size) => {
  expect(headerListSize(raw)).toBe(size);
});
