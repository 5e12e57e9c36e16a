/**
 * The inspector's state and the patches that change it. Every change is a batch of patches, applied here
 * and published, so that a page (or a peer's inspector) that holds a copy stays equal to it.
 *
 * A subscriber that falls more than `backlog` batches behind (a page that stopped reading) loses batches
 * rather than holding memory: batches are numbered, so it sees the gap and starts again from the state.
 */
import { Effect, PubSub, type Scope, Stream } from "effect"
import * as View from "../View.ts"

/** A batch of patches, numbered in the order they were committed, and as JSON. */
export interface Batch {
  readonly seq: number
  readonly patches: ReadonlyArray<View.Patch>
  readonly json: string
}

export class Store {
  readonly state: View.State
  readonly self: string
  private readonly hub: PubSub.PubSub<Batch>
  /** The number of the last batch committed. */
  seq = 0

  constructor(self: string, actions: boolean, backlog = 4096) {
    this.self = self
    this.state = { self, actions, nodes: {} }
    this.hub = Effect.runSync(PubSub.sliding<Batch>(backlog))
  }

  /**
   * Applies a batch and publishes it. The state gets a copy of the patches' values, so that what later
   * patches change in the state never changes a batch already published (it is written out later).
   */
  commit(patches: ReadonlyArray<View.Patch>): void {
    if (patches.length === 0) return
    const json = JSON.stringify(patches)
    for (const patch of JSON.parse(json) as ReadonlyArray<View.Patch>) View.apply(this.state, patch)
    PubSub.publishUnsafe(this.hub, { seq: ++this.seq, patches, json })
  }

  /**
   * Subscribes now: the state as it is with the number of its last batch, and the batches committed from the
   * subscription on (those numbered up to `seq` are already in `state`).
   */
  subscribe(): Effect.Effect<
    { readonly state: string; readonly seq: number; readonly batches: Stream.Stream<Batch> },
    never,
    Scope.Scope
  > {
    return Effect.map(PubSub.subscribe(this.hub), (subscription) => ({
      state: JSON.stringify(this.state),
      seq: this.seq,
      batches: Stream.fromSubscription(subscription)
    }))
  }

  /** This node's part of the state. */
  part(node: string): View.NodePart | undefined {
    return this.state.nodes[node]
  }
}

/** A node's part before anything is known of it. */
export const emptyPart = (
  node: string,
  known: { readonly inspected: boolean; readonly reachable: boolean; readonly actions: boolean }
): View.NodePart => ({
  node,
  ...known,
  info: undefined,
  actors: [],
  roles: [],
  sessions: {},
  agents: {},
  deadLetters: [],
  questions: {}
})

/** JSON text of any value, cut at `max` characters; values JSON cannot write are described instead. */
export const json = (value: unknown, max = 4000): string => {
  let text: string
  try {
    text = JSON.stringify(value, (_, v) => (typeof v === "bigint" ? v.toString() : v)) ?? "null"
  } catch {
    text = String(value)
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}
