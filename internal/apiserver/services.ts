// Service IP and NodePort allocation, as the Kubernetes service REST storage does it:
// a ClusterIP from the service CIDR and node ports from 30000-32767, unique across
// the cluster, released when the service goes.
import type { ResourceInfo } from "../api/resources";
import { errors } from "./errors";
import type { KObject } from "./objects";

export const SERVICE_CIDR = "10.43.0.0/16";
export const KUBERNETES_SERVICE_IP = "10.43.0.1";
const NODE_PORT_MIN = 30000;
const NODE_PORT_MAX = 32767;

function ipToInt(ip: string): number {
  return ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
}

function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

export class ServiceAllocator {
  private readonly ips = new Set<number>();
  private readonly ports = new Set<number>();
  private readonly base: number;
  private readonly size: number;
  private nextIp = 2;
  private nextPort = NODE_PORT_MIN;

  constructor(cidr = SERVICE_CIDR) {
    const [net, bits] = cidr.split("/");
    this.base = ipToInt(net);
    this.size = 2 ** (32 - Number(bits));
  }

  /** Records what existing services hold (at start-up). */
  observe(svc: KObject): void {
    for (const ip of svc.spec?.clusterIPs ?? [svc.spec?.clusterIP])
      if (ip && ip !== "None") this.ips.add(ipToInt(ip));
    for (const p of svc.spec?.ports ?? []) if (p.nodePort) this.ports.add(p.nodePort);
  }

  private inRange(ip: string): boolean {
    const n = ipToInt(ip);
    return /^\d+\.\d+\.\d+\.\d+$/.test(ip) && n > this.base && n < this.base + this.size - 1;
  }

  /** Fills in spec.clusterIP(s) and node ports for a new service. Throws Invalid when a requested one is taken. */
  allocate(info: ResourceInfo, svc: KObject): void {
    const spec = (svc.spec ??= {});
    const name = svc.metadata?.name ?? "";
    const taken: number[] = [];
    const ports: number[] = [];
    try {
      if (spec.type !== "ExternalName" && spec.clusterIP !== "None") {
        if (spec.clusterIP) {
          if (!this.inRange(spec.clusterIP))
            throw errors.invalid(info, name, [
              {
                reason: "FieldValueInvalid",
                field: "spec.clusterIPs",
                message: `Invalid value: []string{"${spec.clusterIP}"}: failed to allocate IP ${spec.clusterIP}: the provided IP (${spec.clusterIP}) is not in the valid range. The range of valid IPs is ${SERVICE_CIDR}`,
              },
            ]);
          const n = ipToInt(spec.clusterIP);
          if (this.ips.has(n))
            throw errors.invalid(info, name, [
              {
                reason: "FieldValueInvalid",
                field: "spec.clusterIPs",
                message: `Invalid value: []string{"${spec.clusterIP}"}: failed to allocate IP ${spec.clusterIP}: provided IP is already allocated`,
              },
            ]);
          this.ips.add(n);
          taken.push(n);
        } else {
          const n = this.freeIp();
          this.ips.add(n);
          taken.push(n);
          spec.clusterIP = intToIp(n);
        }
        spec.clusterIPs = [spec.clusterIP];
        spec.ipFamilies ??= ["IPv4"];
        spec.ipFamilyPolicy ??= "SingleStack";
      } else if (spec.clusterIP === "None") {
        spec.clusterIPs = ["None"];
      }
      if (spec.type === "NodePort" || spec.type === "LoadBalancer") {
        for (const [i, p] of (spec.ports ?? []).entries()) {
          if (p.nodePort) {
            if (this.ports.has(p.nodePort) || ports.includes(p.nodePort))
              throw errors.invalid(info, name, [
                {
                  reason: "FieldValueInvalid",
                  field: `spec.ports[${i}].nodePort`,
                  message: `Invalid value: ${p.nodePort}: provided port is already allocated`,
                },
              ]);
            if (p.nodePort < NODE_PORT_MIN || p.nodePort > NODE_PORT_MAX)
              throw errors.invalid(info, name, [
                {
                  reason: "FieldValueInvalid",
                  field: `spec.ports[${i}].nodePort`,
                  message: `Invalid value: ${p.nodePort}: provided port is not in the valid range. The range of valid ports is ${NODE_PORT_MIN}-${NODE_PORT_MAX}`,
                },
              ]);
          } else p.nodePort = this.freePort(ports);
          ports.push(p.nodePort);
        }
        for (const p of ports) this.ports.add(p);
      }
    } catch (err) {
      for (const n of taken) this.ips.delete(n);
      throw err;
    }
  }

  /** Keeps allocations stable across updates: a clusterIP is immutable, node ports stay unless changed. */
  update(info: ResourceInfo, old: KObject, svc: KObject): void {
    const spec = (svc.spec ??= {});
    if (!spec.clusterIP && old.spec?.clusterIP) {
      spec.clusterIP = old.spec.clusterIP;
      spec.clusterIPs = old.spec.clusterIPs;
    }
    spec.ipFamilies ??= old.spec?.ipFamilies;
    spec.ipFamilyPolicy ??= old.spec?.ipFamilyPolicy;
    const wantsNodePorts = spec.type === "NodePort" || spec.type === "LoadBalancer";
    const oldPorts = new Map<string, number>();
    for (const p of old.spec?.ports ?? [])
      if (p.nodePort) oldPorts.set(`${p.port}/${p.protocol ?? "TCP"}`, p.nodePort);
    const kept = new Set<number>();
    if (wantsNodePorts) {
      for (const p of spec.ports ?? []) {
        if (!p.nodePort)
          p.nodePort = oldPorts.get(`${p.port}/${p.protocol ?? "TCP"}`) ?? this.freePort([...kept]);
        kept.add(p.nodePort);
        this.ports.add(p.nodePort);
      }
    } else for (const p of spec.ports ?? []) delete p.nodePort;
    for (const n of oldPorts.values()) if (!kept.has(n)) this.ports.delete(n);
    void info;
  }

  release(svc: KObject): void {
    for (const ip of svc.spec?.clusterIPs ?? [svc.spec?.clusterIP])
      if (ip && ip !== "None") this.ips.delete(ipToInt(ip));
    for (const p of svc.spec?.ports ?? []) if (p.nodePort) this.ports.delete(p.nodePort);
  }

  private freeIp(): number {
    for (let i = 0; i < this.size - 2; i++) {
      const off = ((this.nextIp - 1 + i) % (this.size - 2)) + 1;
      const n = this.base + off;
      if (!this.ips.has(n) && off !== 1) {
        this.nextIp = off + 1;
        return n;
      }
    }
    throw errors.internal(`failed to allocate a serviceIP: range is full`);
  }

  private freePort(also: number[]): number {
    const span = NODE_PORT_MAX - NODE_PORT_MIN + 1;
    for (let i = 0; i < span; i++) {
      const p = NODE_PORT_MIN + ((this.nextPort - NODE_PORT_MIN + i) % span);
      if (!this.ports.has(p) && !also.includes(p)) {
        this.nextPort = p + 1;
        return p;
      }
    }
    throw errors.internal("failed to allocate a nodePort: range is full");
  }
}
