import { execFileSync } from 'node:child_process';

/** True when `openssl` is on PATH (TLS tests make their certificates with it). */
export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Writes a self-signed P-256 certificate for 127.0.0.1 and localhost (P-256 rather than RSA: made in milliseconds). */
export function makeCert(certFile: string, keyFile: string, cn = 'localhost'): void {
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${cn}`,
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'pipe' },
  );
}
