/**
 * Inspectors of connected nodes feed each other. Each inspector runs an actor, `/user/troupe-inspector`:
 * another node's inspector asks it to `Watch` (it answers with its node's part of the state and the number of
 * its last batch, then tells the watcher's feed every later batch of that part) and to `Act` (an action on its
 * node, done only if its own inspector accepts actions). When a node joins, this inspector looks for that
 * node's inspector and watches it; when the node leaves, its part is kept and marked unreachable. A node
 * without an inspector is shown from this node's link to it.
 */
import { ActorRef, type ActorSystem, Behavior, Protocol } from "@troupe/runtime"
import { Effect, Option, Schedule, Schema, type Scope, Stream } from "effect"
import * as View from "../View.ts"
import { ActionFailed, perform } from "./actions.ts"
import { emptyPart, type Store } from "./store.ts"

/** What a watched inspector tells its watchers: a batch of patches of its node's part. */
export const Feed = Protocol.make("TroupeInspectorFeed", {
  Patches: { node: Schema.String, seq: Schema.Number, patches: Schema.String },
  /** The whole part again, after batches were lost (the watched inspector fell behind). */
  Part: { node: Schema.String, seq: Schema.Number, part: Schema.String }
})

/** The protocol of the inspector actor of each node. */
export const Link = Protocol.make("TroupeInspector", {
  /** Feed `feed` with this node's part from now on; answers the part now and its batch number. */
  Watch: Protocol.request(
    { feed: ActorRef.schema(Feed) },
    { success: Schema.Struct({ seq: Schema.Number, part: Schema.String }) }
  ),
  /** Do an action (JSON of a `View.Action`) on this node. */
  Act: Protocol.request({ action: Schema.String }, { success: Schema.String, failure: ActionFailed })
})

/** The name of the inspector actor (under `/user`) and of its feed. */
export const linkName = "troupe-inspector"
const feedName = "troupe-inspector-feed"

const decodeAction = Schema.decodeUnknownEffect(Schema.fromJsonString(View.Action))

/** What this inspector knows of a watched peer: the batch its part is at, and batches that came before it. */
interface Watched {
  seq: number | undefined
  readonly early: Array<{ readonly seq: number; readonly patches: ReadonlyArray<View.Patch> }>
}

/** Starts the inspector actor, its feed, and the watching of peers; all stop when the scope closes. */
export const federate = (
  system: ActorSystem.ActorSystemService,
  store: Store,
  options: { readonly actions: boolean }
): Effect.Effect<void, ActorSystem.SpawnError, Scope.Scope> =>
  Effect.gen(function* () {
    const self = system.node
    /** The feeds of the inspectors watching this one, by node and path (a ref that arrives twice is one feed). */
    const feeds = new Map<string, ActorRef.ActorRef<typeof Feed>>()
    const keyOf = (ref: { readonly node: string; readonly path: string }) => `${ref.node}${ref.path}`
    const watched = new Map<string, Watched>()

    // tells every watcher each batch of this node's part
    const subscribed = yield* store.subscribe()
    let last = subscribed.seq
    yield* Effect.forkScoped(
      Stream.runForEach(subscribed.batches, ({ seq, patches }) => {
        const lost = seq !== last + 1
        last = seq
        if (feeds.size === 0) return Effect.void
        const own = patches.filter((p) => p.path[1] === self)
        if (own.length === 0 && !lost) return Effect.void
        // batches were lost (this forwarder fell behind): the watchers get the whole part as it is now (later
        // batches, which they will get too, are then dropped by their number)
        const message = lost
          ? Feed.Part({ node: self, seq: store.seq, part: JSON.stringify(store.part(self)) })
          : Feed.Patches({ node: self, seq, patches: JSON.stringify(own) })
        return Effect.forEach(
          [...feeds],
          ([key, feed]) => feed.tell(message).pipe(Effect.catchCause(() => Effect.sync(() => feeds.delete(key)))),
          { discard: true }
        )
      })
    )

    const link = Behavior.make(Link, {
      initial: null,
      receive: {
        Watch: (state, { feed }, ctx) =>
          Effect.as(ctx.watch(feed), {
            state,
            reply: { seq: store.seq, part: JSON.stringify(store.part(self)) }
          }).pipe(Effect.tap(() => Effect.sync(() => feeds.set(keyOf(feed), feed)))),
        Act: (state, { action }) =>
          Effect.gen(function* () {
            if (!options.actions) {
              return yield* new ActionFailed({ status: 403, reason: `The inspector of ${self} is read-only` })
            }
            const decoded = yield* decodeAction(action).pipe(
              Effect.mapError((e) => new ActionFailed({ status: 400, reason: e.message }))
            )
            return { state, reply: yield* perform(system, decoded) }
          })
      },
      onTerminated: (state, terminated) =>
        Effect.sync(() => {
          feeds.delete(keyOf(terminated.ref))
          return state
        })
    })

    const feed = Behavior.make(Feed, {
      initial: null,
      receive: {
        Patches: (state, { node, seq, patches }) =>
          Effect.sync(() => {
            const peer = watched.get(node)
            if (peer === undefined) return state
            const decoded = JSON.parse(patches) as ReadonlyArray<View.Patch>
            if (peer.seq === undefined) peer.early.push({ seq, patches: decoded })
            else if (seq > peer.seq) {
              peer.seq = seq
              store.commit(decoded.filter((p) => p.path[1] === node))
            }
            return state
          }),
        Part: (state, { node, seq, part }) =>
          Effect.sync(() => {
            const peer = watched.get(node)
            if (peer === undefined || (peer.seq !== undefined && seq <= peer.seq)) return state
            peer.seq = seq
            peer.early.length = 0
            store.commit([
              { op: "set", path: ["nodes", node], value: { ...(JSON.parse(part) as View.NodePart), reachable: true } }
            ])
            return state
          })
      }
    })

    const feedRef = yield* system.spawn(feed, { name: feedName })
    yield* Effect.addFinalizer(() => system.stop(feedRef))
    const linkRef = yield* system.spawn(link, { name: linkName })
    yield* Effect.addFinalizer(() => system.stop(linkRef))

    /** Finds the inspector of `node` (it may start after its node joined) and watches it. */
    const watch = (node: string) =>
      Effect.gen(function* () {
        const remote = yield* system
          .lookup(`/user/${linkName}`, Link, { node })
          .pipe(Effect.retry(Schedule.spaced("250 millis").pipe(Schedule.upTo({ times: 40 }))), Effect.option)
        if (Option.isNone(remote)) {
          if (store.part(node)?.inspected !== true)
            store.commit([
              {
                op: "set",
                path: ["nodes", node],
                value: emptyPart(node, { inspected: false, reachable: true, actions: false })
              }
            ])
          return
        }
        const peer: Watched = { seq: undefined, early: [] }
        watched.set(node, peer)
        const { seq, part } = yield* remote.value.ask(Link.Watch({ feed: feedRef }), { timeout: "10 seconds" })
        // watched again meanwhile, or already given a newer whole part
        if (watched.get(node) !== peer || (peer.seq !== undefined && seq <= peer.seq)) return
        store.commit([
          { op: "set", path: ["nodes", node], value: { ...(JSON.parse(part) as View.NodePart), reachable: true } }
        ])
        peer.seq = seq
        for (const batch of peer.early.splice(0))
          if (batch.seq > (peer.seq ?? 0)) {
            peer.seq = batch.seq
            store.commit(batch.patches.filter((p) => p.path[1] === node))
          }
      }).pipe(Effect.catchCause((cause) => Effect.logDebug(`Could not watch the inspector of ${node}`, cause)))

    const events = yield* system.subscribe
    yield* Effect.forkScoped(
      Stream.runForEach(events, (event) => {
        if (event._tag === "NodeUp") return Effect.asVoid(Effect.forkScoped(watch(event.node)))
        if (event._tag === "NodeDown") {
          watched.delete(event.node)
          if (store.part(event.node) !== undefined)
            store.commit([{ op: "set", path: ["nodes", event.node, "reachable"], value: false }])
        }
        return Effect.void
      })
    )
    for (const node of yield* system.nodes) yield* Effect.forkScoped(watch(node))
  })

/** Does an action on another node, through its inspector. */
export const actRemotely = (
  system: ActorSystem.ActorSystemService,
  action: View.Action
): Effect.Effect<string, ActionFailed> =>
  system.lookup(`/user/${linkName}`, Link, { node: action.node }).pipe(
    Effect.mapError(
      () => new ActionFailed({ status: 404, reason: `Node ${action.node} is not reachable, or runs no inspector` })
    ),
    Effect.flatMap((remote) =>
      remote.ask(Link.Act({ action: JSON.stringify(action) }), { timeout: "15 seconds" }).pipe(
        Effect.catchIf(
          (e): e is Exclude<typeof e, ActionFailed> => !(e instanceof ActionFailed),
          (e) =>
            Effect.fail(new ActionFailed({ status: 502, reason: `Node ${action.node} did not answer: ${e.message}` }))
        )
      )
    )
  )
