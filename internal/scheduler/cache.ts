// The scheduler's snapshot of the cluster: one NodeInfo per node with the pods bound to
// it, plus pods it has assumed (chosen a node for, bind still in flight) so the next
// decision already counts them, as upstream's scheduler cache does.
import type { KObject } from "../client/types";
import { NodeInfo, type PodFacts, podFacts } from "./nodeinfo";

export class SchedulerCache {
  private readonly infos = new Map<string, NodeInfo>();
  /** Names of nodes whose Node object exists (an entry may outlive it while pods remain). */
  private readonly present = new Set<string>();
  private readonly podNode = new Map<string, string>();
  private readonly assumed = new Set<string>();
  private list: NodeInfo[] = [];

  /** The nodes that exist, in a stable order; NodeInfos are live views. */
  nodes(): NodeInfo[] {
    return this.list;
  }

  get(name: string): NodeInfo | undefined {
    return this.present.has(name) ? this.infos.get(name) : undefined;
  }

  private rebuild(): void {
    this.list = [...this.present].sort().map((n) => this.infos.get(n)!);
  }

  setNode(node: KObject): void {
    const name = node.metadata?.name;
    const info = this.infos.get(name);
    if (info) info.setNode(node);
    else this.infos.set(name, new NodeInfo(node));
    if (!this.present.has(name)) {
      this.present.add(name);
      this.rebuild();
    }
  }

  removeNode(name: string): void {
    if (!this.present.delete(name)) return;
    const info = this.infos.get(name);
    if (info && info.pods.size === 0) this.infos.delete(name);
    this.rebuild();
  }

  isAssumed(key: string): boolean {
    return this.assumed.has(key);
  }

  nodeOf(key: string): string | undefined {
    return this.podNode.get(key);
  }

  private place(facts: PodFacts, nodeName: string): void {
    const prev = this.podNode.get(facts.key);
    if (prev !== undefined && prev !== nodeName) this.detach(facts.key);
    let info = this.infos.get(nodeName);
    if (!info) {
      // A pod bound to a node we have not seen yet: account for it once the node shows up.
      info = new NodeInfo({ metadata: { name: nodeName } });
      this.infos.set(nodeName, info);
    }
    info.addPod(facts);
    this.podNode.set(facts.key, nodeName);
  }

  private detach(key: string): void {
    const nodeName = this.podNode.get(key);
    if (nodeName === undefined) return;
    this.podNode.delete(key);
    const info = this.infos.get(nodeName);
    if (!info) return;
    info.removePod(key);
    if (info.pods.size === 0 && !this.present.has(nodeName)) this.infos.delete(nodeName);
  }

  /** Counts the pod on the node before the bind is observed. */
  assume(facts: PodFacts, nodeName: string): void {
    this.place(facts, nodeName);
    this.assumed.add(facts.key);
  }

  /** Undoes assume after a failed bind. */
  forget(key: string): void {
    if (!this.assumed.delete(key)) return;
    this.detach(key);
  }

  /** A bound, non-terminal pod as the informer reports it (confirms an assumed one). */
  addOrUpdatePod(pod: KObject): void {
    const facts = podFacts(pod);
    this.assumed.delete(facts.key);
    this.place(facts, pod.spec.nodeName);
  }

  removePod(key: string): void {
    this.assumed.delete(key);
    this.detach(key);
  }
}
