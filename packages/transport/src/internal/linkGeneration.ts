/**
 * Link generations: which link between two incarnations a handshake carries on with.
 *
 * Links between two incarnations are numbered (generations). The proof says which one the dialer knows
 * last and whether it still holds it; the acceptor decides (see `decide`) and the welcome names the
 * generation both sides carry on with: the same one (the link continues: unacknowledged envelopes are
 * resent, the receiver drops what it already had) or a new one (both start from zero; a side that held an
 * older one declares it down, so what it had not acknowledged is never delivered twice).
 */
import type * as Frame from "../Frame.ts"
import type { Engine } from "./engine.ts"
import type { Link } from "./link.ts"

/**
 * The acceptor's decision: the generation of the link both sides carry on with, from what each side
 * knows of the links between these two incarnations (the highest generation it knows, and whether it
 * still holds it).
 *
 * - The dialer knows less than this node's live link: it spoke before it learned of it (both nodes
 *   dialed each other at once, and the other handshake made it): that link continues.
 * - The dialer holds a link this node never knew (the welcome that made it never arrived here): it
 *   continues, this node takes it up from zero (nothing of it reached this node).
 * - Both hold the same one: it continues.
 * - Otherwise one side dropped it (or there was none): a new one, numbered after both.
 *
 * @example
 * decide(true, 3, true, 3) // 3: both hold link 3
 * decide(true, 3, false, 3) // 4: the dialer declared this node down
 */
export const decide = (held: boolean, known: number, dialerLinked: boolean, dialerKnown: number): number =>
  held && dialerKnown < known
    ? known
    : dialerLinked && (dialerKnown > known || (held && dialerKnown === known))
      ? dialerKnown
      : Math.max(known, dialerKnown) + 1

/** The live link to this incarnation, if any. */
export const linkOf = (engine: Engine, intro: Frame.Hello | Frame.Challenge): Link | undefined => {
  const link = engine.links.get(intro.node)
  return link !== undefined && !link.down && link.peer.incarnation === intro.incarnation ? link : undefined
}

/**
 * What the dialer's proof says of its link state: whether it holds a live link to the acceptor's
 * incarnation, and the highest generation it knows.
 */
export const dialerState = (
  engine: Engine,
  challenge: Frame.Challenge
): { readonly linked: boolean; readonly generation: number } => ({
  linked: linkOf(engine, challenge) !== undefined,
  generation: engine.peers.generationOf(challenge.node, challenge.incarnation)
})

/**
 * The acceptor's side: the generation both carry on with (`decide`, from the dialer's proof and this
 * node's link state). When this node holds another generation than the one decided, it ends it (`relink`).
 */
export const accept = (engine: Engine, hello: Frame.Hello, dialerLinked: boolean, dialerKnown: number): number => {
  const held = linkOf(engine, hello)
  const known = engine.peers.generationOf(hello.node, hello.incarnation)
  const generation = decide(held !== undefined, known, dialerLinked, dialerKnown)
  if (held !== undefined && held.generation !== generation) relink(engine, held)
  return generation
}

/**
 * The dialer's side: whether it takes up the generation the acceptor's welcome names. Not when this node
 * dropped that link meanwhile or holds a newer one (false: the next handshake sorts it out); a link it
 * holds with another generation ends (`relink`).
 */
export const takeUp = (engine: Engine, challenge: Frame.Challenge, generation: number): boolean => {
  const held = linkOf(engine, challenge)
  if (held?.generation !== generation) {
    if (generation <= engine.peers.generationOf(challenge.node, challenge.incarnation)) return false
    if (held !== undefined) relink(engine, held)
  }
  return true
}

/**
 * Both sides carry on with another link than the one this side holds (the peer dropped it: it declared
 * this node down, in a partition this node did not see): this side ends it too (`PeerDown`); what it
 * had not acknowledged is lost with it, as for any link that goes down, never resent on the new one.
 */
export const relink = (engine: Engine, link: Link): void => {
  engine.peers.declareDown(link, "refused", "the peer had declared this node down; linking anew")
}
