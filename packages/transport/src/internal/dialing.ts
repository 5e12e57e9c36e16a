/**
 * Dialing: each target (an address given to `connect`, or a member learned from gossip) has a loop that dials
 * it, dials again with jittered exponential backoff while it is unreachable, and gives up on a refusal that
 * retrying will not fix.
 */
import { Deferred, Effect, type Fiber } from "effect"
import * as CloseCode from "../CloseCode.ts"
import type { Peer } from "../Peer.ts"
import { NodeUnreachable } from "../TransportError.ts"
import { Connection, type DialOutcome, type WireEvents } from "./connection.ts"
import type { Engine } from "./engine.ts"

/** Failed dials after which a member learned by gossip is no longer dialed (until gossip names it again). */
const LEARNED_DIAL_ATTEMPTS = 5

/** A target being dialed: the peer it reached, if any, and who waits for it. */
export class Target {
  peer: Peer | undefined = undefined
  up: Deferred.Deferred<Peer, NodeUnreachable> = Deferred.makeUnsafe()
  fiber: Fiber.Fiber<void> | undefined = undefined
  lastRefusal = 0
  readonly target: string
  /** Learned from gossip (not given to `connect`): dialed a few times, then forgotten. */
  learned: boolean
  constructor(target: string, learned: boolean) {
    this.target = target
    this.learned = learned
  }

  /** `up` holds a peer reached (not a failure that ended the dial loop). */
  private upReached = false

  reached(peer: Peer): void {
    this.peer = peer
    if (Deferred.isDoneUnsafe(this.up)) this.up = Deferred.makeUnsafe()
    Deferred.doneUnsafe(this.up, Effect.succeed(peer))
    this.upReached = true
  }

  lost(): void {
    this.peer = undefined
    if (Deferred.isDoneUnsafe(this.up)) this.up = Deferred.makeUnsafe()
    this.upReached = false
  }

  /**
   * The link it reached has no connection now: who connects waits for the next one (the same incarnation again,
   * or a new one if the node restarted), not for a link that may be dead.
   */
  idle(): void {
    if (!this.upReached) return
    this.upReached = false
    this.up = Deferred.makeUnsafe()
  }
}

/** Whether a dial's socket error says that nothing listens at the target (the TCP connection was refused). */
const isRefusal = (error: Error): boolean => (error as { readonly code?: unknown }).code === "ECONNREFUSED"

/**
 * Dials `target`; `onDone` is told how the connection ended and whether the dial was refused (nothing listens
 * there: see {@link gone}).
 */
const dial = (engine: Engine, target: Target, onDone: (outcome: DialOutcome, refused: boolean) => void): Connection => {
  const connection = new Connection(engine, true, target.target)
  let refused = false
  connection.onDone = (outcome) => onDone(outcome, refused)
  // the connection's own handlers (bound once), but for the socket error, which says whether the dial was refused
  const events: WireEvents = {
    opened: connection.opened,
    message: connection.message,
    read: connection.read,
    closed: connection.closed,
    failed: (error, kind) => {
      if (isRefusal(error)) refused = true
      connection.failed(error, kind)
    }
  }
  connection.wire = engine.options.dial(target.target, events) // throws for a malformed target
  engine.connections.add(connection)
  return connection
}

/**
 * A dial of `target` was refused: nothing listens there any more. If the incarnation last reached there (or the
 * node that announced this address) has a link that lost its connection without a goodbye, that incarnation is
 * gone (a crash, a SIGKILL): a live node listens on its address for as long as it runs, and a restart on the same
 * address would have answered. It is declared down at once, instead of after the failure detector's timeout. A
 * close whose redial times out or is reset may be a network cut: that is left to the failure detector, as is a
 * link that has a connection (its peer is alive, whatever this address says). The verdict is `unreachable`, not a
 * quarantine: should the incarnation answer again after all, it links again.
 */
const gone = (engine: Engine, target: Target): void => {
  const node = target.peer?.node ?? engine.membership.nodeAt(target.target)
  if (node !== undefined) goneAt(engine, target.peer ?? { node, incarnation: undefined }, target.target)
}

/**
 * Nothing listens at `address`, where `peer` (its node, and its incarnation if known) was reached or announced
 * itself: its link, if it has no connection, is declared down (see {@link gone}).
 */
export const goneAt = (
  engine: Engine,
  peer: { readonly node: string; readonly incarnation: string | undefined },
  address: string
): void => {
  const link = engine.links.get(peer.node)
  if (link === undefined || link.down || link.active !== undefined) return
  if (peer.incarnation !== undefined && link.peer.incarnation !== peer.incarnation) return
  engine.peers.declareDown(
    link,
    "unreachable",
    `its connection closed without a goodbye and nothing listens at ${address} any more (connection refused)`
  )
}

/**
 * The peer `target` reaches, once it does; dials it unless it is dialed already. A link that has lost its
 * connection does not count: the node there may have crashed and started again at once (before this node's
 * detector saw the old one die), and what is asked of the old incarnation's link would fail. The dial loop dials
 * again; this waits until a connection is up, with the same incarnation or with a new one.
 */
export const connect = (engine: Engine, target: string): Effect.Effect<Peer, NodeUnreachable> =>
  Effect.suspend(() => {
    if (engine.stopping) {
      return Effect.fail(
        new NodeUnreachable({ node: target, reason: "stopped", detail: "the transport is shutting down" })
      )
    }
    let state = engine.targets.get(target)
    if (state === undefined) {
      state = new Target(target, false)
      engine.targets.set(target, state)
      state.fiber = engine.run(dialLoop(engine, state))
    }
    state.learned = false
    const peer = state.peer
    if (peer !== undefined) {
      const link = engine.links.get(peer.node)
      if (link?.peer === peer && link.active !== undefined) return Effect.succeed(peer)
      state.idle()
    }
    return Deferred.await(state.up)
  })

/** Dials a member learned from gossip, unless it is dialed already. */
export const learn = (engine: Engine, address: string): void => {
  if (engine.stopping || engine.targets.has(address)) return
  const target = new Target(address, true)
  engine.targets.set(address, target)
  target.fiber = engine.run(dialLoop(engine, target))
}

const delay = (engine: Engine, failures: number): number => {
  const { initialDelayMs, maxDelayMs, factor } = engine.options
  const base = Math.min(maxDelayMs, initialDelayMs * factor ** Math.min(failures, 64))
  return base / 2 + (Math.random() * base) / 2
}

const dialLoop = (engine: Engine, target: Target): Effect.Effect<void> =>
  Effect.gen(function* () {
    let failures = 0
    while (!engine.stopping) {
      let refused = false
      const outcome = yield* Effect.callback<DialOutcome | Error>((resume) => {
        try {
          const connection = dial(engine, target, (o, r) => {
            refused = r
            resume(Effect.succeed(o))
          })
          return Effect.sync(() => connection.abort())
        } catch (error) {
          resume(Effect.succeed(error instanceof Error ? error : new Error(String(error))))
        }
      })
      if (engine.stopping) return
      if (outcome instanceof Error) {
        engine.log("Error", "cannot dial this target", { target: target.target, detail: outcome.message })
        const detail = `cannot dial ${JSON.stringify(target.target)}: ${outcome.message}`
        Deferred.doneUnsafe(
          target.up,
          Effect.fail(new NodeUnreachable({ node: target.target, reason: "invalid", detail }))
        )
        return
      }
      if (outcome.code === CloseCode.SelfConnection) {
        // the acceptor saw this node's id: it is this node, or another node was given the same id
        const detail = `the node there has this node's id (${engine.options.node}): it is this node itself, or another node was given the same id (each node needs its own)`
        engine.log("Error", "stopped dialing: the target has this node's id", { target: target.target })
        Deferred.doneUnsafe(
          target.up,
          Effect.fail(new NodeUnreachable({ node: target.target, reason: "self", detail }))
        )
        return
      }
      if (!outcome.established && (outcome.tls !== undefined || CloseCode.isFinal(outcome.code))) {
        const detail =
          outcome.tls !== undefined
            ? `TLS: ${outcome.tls}`
            : `${CloseCode.name(outcome.code)} (${outcome.code}): ${outcome.reason}`
        engine.log("Error", "stopped dialing: the target refused this node", { target: target.target, detail })
        Deferred.doneUnsafe(
          target.up,
          Effect.fail(new NodeUnreachable({ node: target.target, reason: "refused", detail }))
        )
        return
      }
      if (refused && !outcome.established) gone(engine, target)
      failures = outcome.established ? 0 : failures + 1
      if (!outcome.established) {
        engine.log("Debug", "dial failed", {
          target: target.target,
          code: CloseCode.name(outcome.code),
          reason: outcome.reason
        })
      }
      if (outcome.code === CloseCode.Duplicate && outcome.peer !== undefined) {
        target.reached(outcome.peer)
        yield* linkIdle(engine, outcome.peer)
        continue
      }
      if (outcome.established) target.lastRefusal = 0
      if (target.learned && failures >= LEARNED_DIAL_ATTEMPTS && engine.targets.get(target.target) === target) {
        engine.targets.delete(target.target)
        return
      }
      yield* Effect.sleep(delay(engine, failures))
    }
  })

/** Waits until the link to this peer has no connection (or is gone). */
const linkIdle = (engine: Engine, peer: Peer): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    const link = engine.links.get(peer.node)
    if (link === undefined || link.peer.incarnation !== peer.incarnation || link.active === undefined) {
      resume(Effect.void)
      return
    }
    link.idleWaiters.push(() => resume(Effect.void))
  })
