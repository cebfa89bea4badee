import { createPrivateKey, X509Certificate } from "node:crypto";
import { promises as fs, mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer, request } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  CA_CERT_FILE,
  CA_KEY_FILE,
  certSans,
  ensureServerPKI,
  SERVING_CERT_FILE,
  SERVING_KEY_FILE,
} from "../../../internal/pki";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "tsk-pki-"));
  dirs.push(d);
  return d;
}
test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const SANS = ["myhost", "localhost", "127.0.0.1", "192.0.2.10", "::1"];

test("the serving certificate is signed by the cluster CA and carries every SAN, IPs included", async () => {
  const pki = await ensureServerPKI({ tlsDir: tempDir(), sans: SANS });
  const ca = new X509Certificate(pki.caCertPem);
  const cert = new X509Certificate(pki.serverCertPem);
  assert.ok(ca.ca, "CA certificate has CA:TRUE");
  assert.match(ca.subject, /CN=tsk-server-ca@\d+/);
  assert.is(cert.issuer, ca.subject);
  assert.ok(cert.checkIssued(ca));
  assert.ok(cert.verify(ca.publicKey), "signature verifies with the CA key");
  assert.not.ok(cert.ca);
  const san = cert.subjectAltName ?? "";
  for (const want of [
    "DNS:myhost",
    "DNS:localhost",
    "DNS:kubernetes",
    "DNS:kubernetes.default",
    "DNS:kubernetes.default.svc",
    "DNS:kubernetes.default.svc.cluster.local",
    "IP Address:127.0.0.1",
    "IP Address:192.0.2.10",
    "IP Address:10.43.0.1",
  ]) {
    assert.ok(san.split(", ").includes(want), `SAN ${want} in ${san}`);
  }
  assert.ok(/IP Address:(0:0:0:0:0:0:0:1|::1)/.test(san), `IPv6 loopback in ${san}`);
  assert.equal(cert.keyUsage, ["1.3.6.1.5.5.7.3.1"], "extended key usage is serverAuth only");
  assert.is(cert.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
});

test("the CA is valid for 10 years and the serving certificate for 1 year", async () => {
  const pki = await ensureServerPKI({ tlsDir: tempDir(), sans: SANS });
  const years = (pem: string) => {
    const c = new X509Certificate(pem);
    return (Date.parse(c.validTo) - Date.now()) / (365 * 24 * 3600 * 1000);
  };
  assert.ok(Math.abs(years(pki.caCertPem) - 10) < 0.05, `CA ${years(pki.caCertPem)} years`);
  assert.ok(Math.abs(years(pki.serverCertPem) - 1) < 0.01, `serving ${years(pki.serverCertPem)} years`);
});

test("keys are written mode 0600 and certificates 0644 under the TLS dir", async () => {
  const dir = join(tempDir(), "server", "tls");
  await ensureServerPKI({ tlsDir: dir, sans: SANS });
  const mode = (f: string) => statSync(join(dir, f)).mode & 0o777;
  assert.is(mode(CA_KEY_FILE), 0o600);
  assert.is(mode(SERVING_KEY_FILE), 0o600);
  assert.is(mode(CA_CERT_FILE), 0o644);
  assert.is(mode(SERVING_CERT_FILE), 0o644);
  assert.equal(
    (await fs.readdir(dir)).sort(),
    [CA_CERT_FILE, CA_KEY_FILE, SERVING_CERT_FILE, SERVING_KEY_FILE].sort(),
  );
});

async function httpsGet(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/", ca, servername: "localhost" }, (res) => {
      let body = "";
      res.on("data", (c) => {
        body += c;
      });
      res.on("end", () => resolve(body));
    });
    req.on("error", reject);
    req.end();
  });
}

test("an HTTPS server with these certificates is trusted by a client holding only the CA, refused by one with another CA", async () => {
  const pki = await ensureServerPKI({ tlsDir: tempDir(), sans: SANS });
  const other = await ensureServerPKI({ tlsDir: tempDir(), sans: SANS });
  const server = createServer({ cert: pki.serverCertPem, key: pki.serverKeyPem }, (_req, res) =>
    res.end("hello"),
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    const { port } = server.address() as AddressInfo;
    assert.is(await httpsGet(port, pki.caCertPem), "hello");
    try {
      await httpsGet(port, other.caCertPem);
      assert.unreachable("a client trusting another CA must refuse the server");
    } catch (err) {
      assert.instance(err, Error);
      assert.match(
        (err as NodeJS.ErrnoException).code ?? "",
        /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/,
      );
    }
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test("a restart keeps the CA and the serving certificate when nothing changed", async () => {
  const dir = tempDir();
  const first = await ensureServerPKI({ tlsDir: dir, sans: SANS });
  assert.ok(first.caCreated && first.servingIssued);
  // Same set, different order and spelling of the IPv6 address.
  const second = await ensureServerPKI({
    tlsDir: dir,
    sans: ["0:0:0:0:0:0:0:1", ...SANS.slice(0, 4).reverse()],
  });
  assert.not.ok(second.caCreated);
  assert.not.ok(second.servingIssued);
  assert.is(second.caCertPem, first.caCertPem);
  assert.is(second.caKeyPem, first.caKeyPem);
  assert.is(second.serverCertPem, first.serverCertPem);
});

test("a new --tls-san reissues the serving certificate from the same CA", async () => {
  const dir = tempDir();
  const first = await ensureServerPKI({ tlsDir: dir, sans: SANS });
  const second = await ensureServerPKI({ tlsDir: dir, sans: [...SANS, "api.example.com", "198.51.100.7"] });
  assert.is(second.caCertPem, first.caCertPem);
  assert.ok(second.servingIssued);
  assert.is.not(second.serverCertPem, first.serverCertPem);
  assert.is.not(second.serverKeyPem, first.serverKeyPem);
  const sans = certSans(second.serverCertPem);
  assert.ok(sans.includes("api.example.com") && sans.includes("198.51.100.7"), sans.join(","));
  assert.is(await fs.readFile(join(dir, SERVING_CERT_FILE), "utf8"), second.serverCertPem);
  assert.ok(new X509Certificate(second.serverCertPem).verify(new X509Certificate(first.caCertPem).publicKey));
});

test("a serving certificate within 90 days of expiry is renewed at start", async () => {
  const dir = tempDir();
  const first = await ensureServerPKI({ tlsDir: dir, sans: SANS });
  const inTenMonths = new Date(Date.now() + 300 * 24 * 3600 * 1000);
  const renewed = await ensureServerPKI({ tlsDir: dir, sans: SANS, now: inTenMonths });
  assert.ok(renewed.servingIssued);
  assert.is(renewed.caCertPem, first.caCertPem);
  assert.ok(
    Date.parse(new X509Certificate(renewed.serverCertPem).validTo) >
      inTenMonths.getTime() + 300 * 24 * 3600 * 1000,
  );
});

test("a serving key that no longer matches its certificate is replaced", async () => {
  const dir = tempDir();
  const first = await ensureServerPKI({ tlsDir: dir, sans: SANS });
  const other = await ensureServerPKI({ tlsDir: tempDir(), sans: SANS });
  await fs.writeFile(join(dir, SERVING_KEY_FILE), other.serverKeyPem);
  const again = await ensureServerPKI({ tlsDir: dir, sans: SANS });
  assert.ok(again.servingIssued);
  assert.is(again.caCertPem, first.caCertPem);
  assert.ok(new X509Certificate(again.serverCertPem).checkPrivateKey(createPrivateKey(again.serverKeyPem)));
});

test("a CA certificate without its key is a clear error, not a silently new CA", async () => {
  const dir = tempDir();
  const first = await ensureServerPKI({ tlsDir: dir, sans: SANS });
  await fs.rm(join(dir, CA_KEY_FILE));
  try {
    await ensureServerPKI({ tlsDir: dir, sans: SANS });
    assert.unreachable("should fail");
  } catch (err) {
    assert.match((err as Error).message, /server-ca\.key is missing/);
  }
  assert.is(await fs.readFile(join(dir, CA_CERT_FILE), "utf8"), first.caCertPem);
});

test("a SAN that is neither a DNS name nor an IP address is rejected with its value", async () => {
  try {
    await ensureServerPKI({ tlsDir: tempDir(), sans: ["bad name!"] });
    assert.unreachable("should fail");
  } catch (err) {
    assert.match((err as Error).message, /invalid TLS SAN "bad name!"/);
  }
});

test.run();
