/**
 * Numbered traffic between test nodes: envelopes to a sink, sent and received in bulk, and what the links and
 * events say about it.
 */
import { assert } from "@effect/vitest"
import { Effect, PubSub } from "effect"
import { ActorAddress, Envelope, NodeId, Peer } from "../../src/index.ts"
import type { Node } from "./harness.ts"

const templates = new Map<string, Envelope.Template>()

/** A numbered envelope for `to`'s sink actor; the odd ones made from a template (as a runtime's tells are). */
export const tell = (to: Node, n: number, from = "x"): Envelope.Envelope => {
  const address = ActorAddress.make(NodeId.make(to.name), "/sink")
  if (n % 2 === 0) return Envelope.make({ kind: "tell", to: address, payload: { from, n } })
  let template = templates.get(to.name)
  if (template === undefined) {
    template = Envelope.template({ kind: "tell", to: address })
    templates.set(to.name, template)
  }
  return Envelope.fill(template, { from, n })
}

/** Sends `count` numbered envelopes from `from` to `to`, starting at `start`. */
export const sendMany = (from: Node, to: Node, count: number, start = 1) =>
  Effect.gen(function* () {
    for (let n = start; n < start + count; n++) yield* from.transport.send(NodeId.make(to.name), tell(to, n, from.name))
  })

/** Receives on `node` until `count` envelopes arrived; returns their `n` in arrival order. */
export const receiveMany = (node: Node, count: number) =>
  Effect.gen(function* () {
    const seen: Array<number> = []
    while (seen.length < count) {
      for (const delivery of yield* node.transport.receive) {
        seen.push((delivery.envelope.payload as { readonly n: number }).n)
      }
    }
    return seen
  })

/** Narrows a failure to the expected error. */
export const expectError = <E extends { readonly _tag: string }, T extends E["_tag"]>(
  error: E,
  tag: T
): Extract<E, { readonly _tag: T }> => {
  assert.strictEqual(error._tag, tag)
  return error as Extract<E, { readonly _tag: T }>
}

/** The integers from `from` to `to`, both included. */
export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

/** How many PeerDown events a subscription holds now (taking them, without waiting). */
export const downs = (events: PubSub.Subscription<Peer.PeerEvent>) =>
  Effect.map(PubSub.takeUpTo(events, 1000), (all) => all.filter(Peer.isPeerDown).length)

/** The link `node` holds to `peer` (its stats), if any. */
export const linkTo = (node: Node, peer: string) =>
  Effect.map(node.transport.stats, (stats) => stats.links.find((link) => link.node === peer))
