// Cluster CA and the API server's serving certificate, k3s style: one self-signed
// ECDSA P-256 CA made on first start and kept for the life of the cluster (every
// join token pins its hash), and a serving certificate it signs, reissued when the
// requested SANs change or it gets close to expiry.
//
// @peculiar/x509 builds the certificates (no hand-written DER); Node's crypto
// checks them back (issuer, key match, expiry).
import "reflect-metadata";
import { createPrivateKey, X509Certificate as NodeX509, randomBytes, webcrypto } from "node:crypto";
import { isIP } from "node:net";
import { join } from "node:path";
import * as x509 from "@peculiar/x509";
import { readIfExists, writeFileAtomic } from "./files";

// Node's webcrypto is the standard Web Crypto API, passed to the library explicitly
// so nothing depends on a global crypto provider being set.
const crypto = webcrypto;
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type SigningAlgorithm = webcrypto.Algorithm | webcrypto.EcdsaParams;

export const CA_CERT_FILE = "server-ca.crt";
export const CA_KEY_FILE = "server-ca.key";
export const SERVING_CERT_FILE = "serving-kube-apiserver.crt";
export const SERVING_KEY_FILE = "serving-kube-apiserver.key";

const DAY_MS = 24 * 60 * 60 * 1000;
const CA_VALIDITY_MS = 3650 * DAY_MS;
const SERVING_VALIDITY_MS = 365 * DAY_MS;
/** k3s renews serving certificates at start-up when fewer than 90 days remain. */
export const RENEW_BEFORE_MS = 90 * DAY_MS;
/** Back-dating covers clocks a little behind the server's (agents, kubectl hosts). */
const BACKDATE_MS = 60 * 60 * 1000;

/** Names every in-cluster client uses for the API server, plus the first service IP. */
export const IN_CLUSTER_SANS = [
  "kubernetes",
  "kubernetes.default",
  "kubernetes.default.svc",
  "kubernetes.default.svc.cluster.local",
  "10.43.0.1",
];

const EC_KEYGEN = { name: "ECDSA", namedCurve: "P-256" } as const;

export interface ServerPKI {
  caCertPem: string;
  caKeyPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  /** The CA was made by this call (first start). */
  caCreated: boolean;
  /** The serving certificate was (re)issued by this call. */
  servingIssued: boolean;
}

export class PKIError extends Error {
  readonly code = "PKI";
}

/**
 * Loads or creates the cluster CA and serving certificate in `tlsDir`.
 * `sans` are hostnames and IP addresses; the in-cluster names are added here.
 * The CA is never replaced once it exists; a CA certificate without its key is an
 * error (we could not sign with it, and replacing it would orphan every joined node).
 */
export async function ensureServerPKI(opts: {
  tlsDir: string;
  sans: string[];
  now?: Date;
}): Promise<ServerPKI> {
  const now = opts.now ?? new Date();
  const sans = normalizeSans([...opts.sans, ...IN_CLUSTER_SANS]);
  const caCertPath = join(opts.tlsDir, CA_CERT_FILE);
  const caKeyPath = join(opts.tlsDir, CA_KEY_FILE);

  let caCertPem = await readIfExists(caCertPath);
  let caKeyPem = await readIfExists(caKeyPath);
  let caCreated = false;
  if (caCertPem === undefined) {
    // Key first: a crash between the two writes leaves no certificate, so the next
    // start makes a fresh CA instead of trusting a certificate with no key.
    const ca = await createCA(now);
    await writeFileAtomic(caKeyPath, ca.keyPem, 0o600);
    await writeFileAtomic(caCertPath, ca.certPem, 0o644);
    caCertPem = ca.certPem;
    caKeyPem = ca.keyPem;
    caCreated = true;
  } else if (caKeyPem === undefined) {
    throw new PKIError(
      `${caCertPath} exists but ${caKeyPath} is missing: restore the CA key, or remove ${caCertPath} to make a new cluster CA (every agent must then rejoin with the new token)`,
    );
  }
  const caNode = parseCert(caCertPem, caCertPath);
  checkKeyMatches(caNode, caKeyPem, caKeyPath, caCertPath);

  const certPath = join(opts.tlsDir, SERVING_CERT_FILE);
  const keyPath = join(opts.tlsDir, SERVING_KEY_FILE);
  let serverCertPem = await readIfExists(certPath);
  let serverKeyPem = await readIfExists(keyPath);
  let servingIssued = false;
  if (
    caCreated ||
    serverCertPem === undefined ||
    serverKeyPem === undefined ||
    !servingCertUsable(serverCertPem, serverKeyPem, caNode, sans, now)
  ) {
    const issued = await issueServingCert(caCertPem, caKeyPem, sans, now);
    await writeFileAtomic(keyPath, issued.keyPem, 0o600);
    await writeFileAtomic(certPath, issued.certPem, 0o644);
    serverCertPem = issued.certPem;
    serverKeyPem = issued.keyPem;
    servingIssued = true;
  }
  return { caCertPem, caKeyPem, serverCertPem, serverKeyPem, caCreated, servingIssued };
}

/**
 * Canonical, sorted, de-duplicated SAN list: DNS names lower-cased, IPs in their
 * canonical text form (so "::1" and "0:0:0:0:0:0:0:1" are one entry).
 * Throws on an entry that is neither an IP address nor a DNS name.
 */
export function normalizeSans(sans: string[]): string[] {
  const out = new Set<string>();
  for (const raw of sans) {
    const s = raw.trim();
    if (s === "") continue;
    const ip = canonicalIP(s);
    if (ip !== undefined) out.add(ip);
    else if (
      /^(\*\.)?[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/.test(
        s,
      )
    )
      out.add(s.toLowerCase().replace(/\.$/, ""));
    else throw new PKIError(`invalid TLS SAN ${JSON.stringify(s)}: not a DNS name or an IP address`);
  }
  return [...out].sort();
}

function canonicalIP(s: string): string | undefined {
  const unbracketed = s.startsWith("[") && s.endsWith("]") ? s.slice(1, -1) : s;
  const v = isIP(unbracketed);
  if (v === 4) return new URL(`http://${unbracketed}/`).hostname;
  if (v === 6) return new URL(`http://[${unbracketed}]/`).hostname.slice(1, -1);
  return undefined;
}

/** The SANs a certificate carries, in `normalizeSans` form. */
export function certSans(certPem: string): string[] {
  const cert = new x509.X509Certificate(certPem);
  const ext = cert.getExtension(x509.SubjectAlternativeNameExtension);
  if (!ext) return [];
  const names: string[] = [];
  for (const n of ext.names.toJSON()) if (n.type === "dns" || n.type === "ip") names.push(n.value);
  return normalizeSans(names);
}

function servingCertUsable(
  certPem: string,
  keyPem: string,
  ca: NodeX509,
  sans: string[],
  now: Date,
): boolean {
  let cert: NodeX509;
  try {
    cert = new NodeX509(certPem);
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return false;
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) return false;
  } catch {
    // An unreadable serving certificate or key is simply replaced: the CA signs a new one.
    return false;
  }
  if (new Date(cert.validTo).getTime() - now.getTime() < RENEW_BEFORE_MS) return false;
  const have = certSans(certPem);
  return have.length === sans.length && have.every((s, i) => s === sans[i]);
}

function parseCert(pem: string, path: string): NodeX509 {
  try {
    return new NodeX509(pem);
  } catch (err) {
    throw new PKIError(`reading ${path}: not a PEM certificate (${(err as Error).message})`);
  }
}

function checkKeyMatches(cert: NodeX509, keyPem: string, keyPath: string, certPath: string): void {
  let ok: boolean;
  try {
    ok = cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch (err) {
    throw new PKIError(`reading ${keyPath}: not a PEM private key (${(err as Error).message})`);
  }
  if (!ok) throw new PKIError(`${keyPath} does not match ${certPath}`);
}

/** A random positive serial number (RFC 5280: positive, at most 20 octets). */
function serialNumber(): string {
  const b = randomBytes(16);
  b[0] = (b[0] & 0x7f) | 0x01;
  return b.toString("hex");
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

/** Imports a PEM private key (PKCS#8, SEC1 or PKCS#1) for signing, with its algorithm. */
async function importSigningKey(pem: string): Promise<{ key: CryptoKey; alg: SigningAlgorithm }> {
  const ko = createPrivateKey(pem);
  const der = ko.export({ type: "pkcs8", format: "der" });
  if (ko.asymmetricKeyType === "ec") {
    const curve = ko.asymmetricKeyDetails?.namedCurve;
    const named = curve === "prime256v1" ? "P-256" : curve === "secp384r1" ? "P-384" : undefined;
    if (!named) throw new PKIError(`unsupported CA key curve ${curve}`);
    const key = await crypto.subtle.importKey("pkcs8", der, { name: "ECDSA", namedCurve: named }, false, [
      "sign",
    ]);
    return {
      key,
      alg: { name: "ECDSA", hash: named === "P-256" ? "SHA-256" : "SHA-384" } as webcrypto.EcdsaParams,
    };
  }
  if (ko.asymmetricKeyType === "rsa") {
    const alg = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
    const key = await crypto.subtle.importKey("pkcs8", der, alg, false, ["sign"]);
    return { key, alg };
  }
  throw new PKIError(`unsupported CA key type ${ko.asymmetricKeyType}`);
}

async function createCA(now: Date): Promise<{ certPem: string; keyPem: string }> {
  const keys = (await crypto.subtle.generateKey(EC_KEYGEN, true, ["sign", "verify"])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serialNumber(),
      // Same naming as k3s ("k3s-server-ca@<unix seconds>") so two clusters' CAs differ by name.
      name: `CN=tsk-server-ca@${Math.floor(now.getTime() / 1000)}`,
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      notAfter: new Date(now.getTime() + CA_VALIDITY_MS),
      keys,
      signingAlgorithm: { name: "ECDSA", hash: "SHA-256" } as webcrypto.EcdsaParams,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { certPem: `${cert.toString("pem")}\n`, keyPem: `${await exportKeyPem(keys.privateKey)}\n` };
}

async function issueServingCert(
  caCertPem: string,
  caKeyPem: string,
  sans: string[],
  now: Date,
): Promise<{ certPem: string; keyPem: string }> {
  const ca = new x509.X509Certificate(caCertPem);
  const signer = await importSigningKey(caKeyPem);
  const keys = (await crypto.subtle.generateKey(EC_KEYGEN, true, ["sign", "verify"])) as CryptoKeyPair;
  const caSki = ca.getExtension(x509.SubjectKeyIdentifierExtension);
  const names: x509.JsonGeneralName[] = sans.map((s) => ({ type: isIP(s) ? "ip" : "dns", value: s }));
  const notAfter = Math.min(now.getTime() + SERVING_VALIDITY_MS, ca.notAfter.getTime());
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serialNumber(),
      subject: "CN=tsk,O=tsk",
      issuer: ca.subjectName,
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      notAfter: new Date(notAfter),
      publicKey: keys.publicKey,
      signingKey: signer.key,
      signingAlgorithm: signer.alg,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
          true,
        ),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        ...(caSki ? [new x509.AuthorityKeyIdentifierExtension(caSki.keyId)] : []),
        new x509.SubjectAlternativeNameExtension(names),
      ],
    },
    crypto,
  );
  return { certPem: `${cert.toString("pem")}\n`, keyPem: `${await exportKeyPem(keys.privateKey)}\n` };
}
