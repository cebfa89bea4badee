// Versions served by conversion from another version's storage. autoscaling/v1
// HorizontalPodAutoscaler (what kubectl 1.32's `autoscale` creates) is stored as v2,
// as on a real cluster, and converted on the way in and out.
import { RESOURCES, type ResourceInfo } from "../api/resources";
import type { KObject } from "./objects";
import type { Registry } from "./registry";

export interface Conversion {
  storage: ResourceInfo;
  toStorage(obj: KObject): KObject;
  fromStorage(obj: KObject): KObject;
}

const DEFAULT_CPU_UTILIZATION = 80;

function hpaV1ToV2(o: KObject): KObject {
  const { spec = {}, status, ...rest } = o;
  const { targetCPUUtilizationPercentage, ...specRest } = spec;
  const out: KObject = {
    ...rest,
    apiVersion: "autoscaling/v2",
    spec: {
      ...specRest,
      metrics: [
        {
          type: "Resource",
          resource: {
            name: "cpu",
            target: {
              type: "Utilization",
              averageUtilization: targetCPUUtilizationPercentage ?? DEFAULT_CPU_UTILIZATION,
            },
          },
        },
      ],
    },
  };
  if (status) {
    const { currentCPUUtilizationPercentage, ...st } = status;
    out.status = {
      ...st,
      ...(currentCPUUtilizationPercentage !== undefined
        ? {
            currentMetrics: [
              {
                type: "Resource",
                resource: { name: "cpu", current: { averageUtilization: currentCPUUtilizationPercentage } },
              },
            ],
          }
        : {}),
    };
  }
  return out;
}

function hpaV2ToV1(o: KObject): KObject {
  const { spec = {}, status, ...rest } = o;
  const { metrics, behavior: _b, ...specRest } = spec;
  const cpu = (metrics ?? []).find(
    (m: any) =>
      m.type === "Resource" && m.resource?.name === "cpu" && m.resource?.target?.type === "Utilization",
  );
  const out: KObject = {
    ...rest,
    apiVersion: "autoscaling/v1",
    spec: {
      ...specRest,
      ...(cpu ? { targetCPUUtilizationPercentage: cpu.resource.target.averageUtilization } : {}),
    },
  };
  if (status) {
    const { currentMetrics, conditions: _c, ...st } = status;
    const cur = (currentMetrics ?? []).find((m: any) => m.type === "Resource" && m.resource?.name === "cpu");
    out.status = {
      ...st,
      ...(cur?.resource?.current?.averageUtilization !== undefined
        ? { currentCPUUtilizationPercentage: cur.resource.current.averageUtilization }
        : {}),
    };
  }
  return out;
}

export function conversionFor(info: ResourceInfo): Conversion | undefined {
  if (!info.storageVersion) return undefined;
  const storage = RESOURCES.find(
    (r) => r.group === info.group && r.plural === info.plural && r.version === info.storageVersion,
  )!;
  if (info.group === "autoscaling" && info.plural === "horizontalpodautoscalers")
    return { storage, toStorage: hpaV1ToV2, fromStorage: hpaV2ToV1 };
  throw new Error(`no conversion for ${info.group}/${info.version} ${info.plural}`);
}

/**
 * A registry facade that speaks the served version: objects are converted to the
 * storage version before the real registry sees them and back on the way out.
 */
export function convertingRegistry(reg: Registry, conv: Conversion): Registry {
  const out = (o: KObject) => conv.fromStorage(o);
  const facade = {
    revision: reg.revision,
    get: async (_i: ResourceInfo, ns: string | undefined, name: string) =>
      out(await reg.get(conv.storage, ns, name)),
    list: async (_i: ResourceInfo, ns: string | undefined, opts?: any) => {
      const l = await reg.list(conv.storage, ns, opts);
      return { ...l, items: l.items.map(out) };
    },
    create: async (ctx: any, _i: ResourceInfo, ns: string | undefined, obj: KObject) =>
      out(await reg.create(ctx, conv.storage, ns, conv.toStorage(obj))),
    update: async (
      ctx: any,
      _i: ResourceInfo,
      ns: string | undefined,
      name: string,
      obj: KObject,
      sub?: "status",
    ) => out(await reg.update(ctx, conv.storage, ns, name, conv.toStorage(obj), sub)),
    guaranteedUpdate: async (
      ctx: any,
      _i: ResourceInfo,
      ns: string | undefined,
      name: string,
      mutate: (c: KObject) => KObject | Promise<KObject>,
      opts?: any,
    ) =>
      out(
        await reg.guaranteedUpdate(
          ctx,
          conv.storage,
          ns,
          name,
          async (cur) => conv.toStorage(await mutate(out(cur))),
          opts,
        ),
      ),
    delete: async (ctx: any, _i: ResourceInfo, ns: string | undefined, name: string, opts?: any) => {
      const r = await reg.delete(ctx, conv.storage, ns, name, opts);
      return { ...r, object: out(r.object) };
    },
    deleteCollection: async (ctx: any, _i: ResourceInfo, ns: string | undefined, f: any, opts: any) =>
      (await reg.deleteCollection(ctx, conv.storage, ns, f, opts)).map(out),
    watch: (_i: ResourceInfo, ns: string | undefined, opts: any, onEvent: any) =>
      reg.watch(conv.storage, ns, opts, (ev) => onEvent({ type: ev.type, object: out(ev.object) })),
  };
  return facade as unknown as Registry;
}
