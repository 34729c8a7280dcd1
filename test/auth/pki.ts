/**
 * A throwaway PKI made with the openssl CLI at test time: CAs, a server certificate, and client
 * certificates with whatever SANs, basic constraints and validity dates a test needs. Keys are
 * P-256 so generation stays fast on a busy machine.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface Issued {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
  /** DER of the certificate (what a transport hands to `authenticate` as `peerCertificates[0]`). */
  der: Buffer;
}

export interface CertificateAuthority extends Issued {
  name: string;
  dir: string;
  issue(name: string, spec: LeafSpec): Issued;
}

export interface LeafSpec {
  /** SAN entries, e.g. `['URI', 'spiffe://example.org/agent/a']`; each value is written verbatim (commas included). */
  altNames?: Array<[type: 'URI' | 'DNS' | 'IP', value: string]>;
  ca?: boolean;
  /** openssl `YYYYMMDDHHMMSSZ`; defaults: valid from yesterday for 30 days. */
  startDate?: string;
  endDate?: string;
  serverAuth?: boolean;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function opensslDate(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
}

function derOf(certFile: string, cwd: string): Buffer {
  const derFile = `${certFile}.der`;
  openssl(['x509', '-in', certFile, '-outform', 'DER', '-out', derFile], cwd);
  return readFileSync(derFile);
}

export function createCa(root: string, name: string): CertificateAuthority {
  const dir = path.join(root, name);
  mkdirSync(path.join(dir, 'issued'), { recursive: true });
  writeFileSync(path.join(dir, 'index.txt'), '');
  writeFileSync(path.join(dir, 'serial'), '1000\n');
  writeFileSync(
    path.join(dir, 'ca.cnf'),
    [
      '[ca]',
      'default_ca = local',
      '[local]',
      `dir = ${dir}`,
      'database = $dir/index.txt',
      'new_certs_dir = $dir/issued',
      'serial = $dir/serial',
      'private_key = $dir/ca.key',
      'certificate = $dir/ca.pem',
      'default_md = sha256',
      'policy = anything',
      'unique_subject = no',
      'copy_extensions = none',
      '[anything]',
      'commonName = supplied',
      '[req]',
      'distinguished_name = dn',
      '[dn]',
      '[ca_ext]',
      'basicConstraints = critical, CA:true',
      'keyUsage = critical, keyCertSign, cRLSign',
      'subjectKeyIdentifier = hash',
      '',
    ].join('\n'),
  );
  const keyFile = path.join(dir, 'ca.key');
  const certFile = path.join(dir, 'ca.pem');
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '30',
      '-subj',
      `/CN=${name}`,
      '-config',
      'ca.cnf',
      '-extensions',
      'ca_ext',
    ],
    dir,
  );
  const ca: CertificateAuthority = {
    name,
    dir,
    certFile,
    keyFile,
    cert: readFileSync(certFile),
    key: readFileSync(keyFile),
    der: derOf(certFile, dir),
    issue(leafName, spec) {
      const extFile = path.join(dir, `${leafName}.ext`);
      const lines = ['[leaf]', `basicConstraints = critical, CA:${spec.ca ? 'true' : 'false'}`];
      lines.push(spec.ca ? 'keyUsage = critical, keyCertSign, digitalSignature' : 'keyUsage = critical, digitalSignature');
      lines.push(`extendedKeyUsage = ${spec.serverAuth ? 'serverAuth, clientAuth' : 'clientAuth'}`);
      if (spec.altNames && spec.altNames.length > 0) {
        lines.push('subjectAltName = @alt', '[alt]');
        spec.altNames.forEach(([type, value], index) => lines.push(`${type}.${index + 1} = ${value}`));
      }
      writeFileSync(extFile, lines.join('\n') + '\n');
      const leafKey = path.join(dir, `${leafName}.key`);
      const csr = path.join(dir, `${leafName}.csr`);
      const leafCert = path.join(dir, `${leafName}.pem`);
      openssl(
        [
          'req',
          '-new',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-keyout',
          leafKey,
          '-out',
          csr,
          '-subj',
          `/CN=${leafName}`,
          '-config',
          'ca.cnf',
        ],
        dir,
      );
      const now = Date.now();
      openssl(
        [
          'ca',
          '-batch',
          '-config',
          'ca.cnf',
          '-notext',
          '-in',
          csr,
          '-out',
          leafCert,
          '-startdate',
          spec.startDate ?? opensslDate(now - 86_400_000),
          '-enddate',
          spec.endDate ?? opensslDate(now + 30 * 86_400_000),
          '-extfile',
          extFile,
          '-extensions',
          'leaf',
        ],
        dir,
      );
      return { certFile: leafCert, keyFile: leafKey, cert: readFileSync(leafCert), key: readFileSync(leafKey), der: derOf(leafCert, dir) };
    },
  };
  return ca;
}
