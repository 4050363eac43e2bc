import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

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

export interface TestCa {
  readonly ca: string;
  /** Writes a certificate signed by this CA for 127.0.0.1 and localhost, with its key. */
  issue(certFile: string, keyFile: string, cn?: string): void;
}

/** A throwaway P-256 certificate authority in `dir` (ca.pem, ca.key), made with openssl. */
export function makeCa(dir: string): TestCa {
  const ca = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', caKey, '-out', ca, '-days', '2', '-subj', '/CN=turnout test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ],
    { stdio: 'pipe' },
  );
  const ext = join(dir, 'leaf.ext');
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  return {
    ca,
    issue(certFile, keyFile, cn = 'localhost') {
      const csr = `${certFile}.csr`;
      execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', csr, '-subj', `/CN=${cn}`], { stdio: 'pipe' });
      execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-out', certFile, '-days', '2', '-extfile', ext], { stdio: 'pipe' });
    },
  };
}
