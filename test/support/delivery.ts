/**
 * What the node scripts of delivery tests share (`transport-node.ts`, `actor-node.ts`): exact books of the
 * numbered messages each sender incarnation sent (how many arrived, twice, or never), the live incarnation of
 * each peer node, and waiting until every link has had all it sent acknowledged.
 */
import type { Peer, Transport } from "@troupe/transport"
import { Deferred, Effect, PubSub, type Scope } from "effect"

/**
 * What arrived from one sender incarnation: how many, how many were duplicates (n already seen), how many went
 * missing (n skipped).
 */
export interface Received {
  readonly count: number
  readonly duplicates: number
  readonly missing: number
  /** The numbers that went missing (the first {@link MAX_GAPS}). */
  readonly gaps?: ReadonlyArray<number>
}

/** At most this many missing numbers are listed per sender. */
export const MAX_GAPS = 10_000

/** Books per sender `node/incarnation`; `next` is the number each sender's next message should carry. */
export type Books = Record<
  string,
  { count: number; duplicates: number; missing: number; next: number; gaps: Array<number> }
>

/**
 * Enters message number `n` (1, 2, 3... per recipient incarnation) from sender `from` in the books.
 *
 * @example
 * const books: Books = {}
 * enter(books, "a/1", 1)
 * enter(books, "a/1", 3) // missing: 1
 * enter(books, "a/1", 2) // duplicates: 1
 */
export const enter = (books: Books, from: string, n: number): void => {
  const book = (books[from] ??= { count: 0, duplicates: 0, missing: 0, next: 1, gaps: [] })
  if (n < book.next) book.duplicates++
  else {
    for (let gap = book.next; gap < n && book.gaps.length < MAX_GAPS; gap++) book.gaps.push(gap)
    book.missing += n - book.next
    book.next = n + 1
    book.count++
  }
}

/**
 * The books as a report gives them: per sender, what arrived.
 *
 * @example
 * const report = { node, incarnation, sent, received: received(books) }
 */
export const received = (books: { readonly [from: string]: Received }): Record<string, Received> =>
  Object.fromEntries(
    Object.entries(books).map(([from, { count, duplicates, missing, gaps }]) => [
      from,
      // the gaps only when there are some (books compare equal to { count, duplicates, missing })
      gaps === undefined || gaps.length === 0
        ? { count, duplicates, missing }
        : { count, duplicates, missing, gaps: [...gaps] }
    ])
  )

/** What a node reports of the numbered tells it sent and received (see `actor-node.ts`). */
export interface Tally {
  readonly incarnation: string
  readonly sent: Record<string, number>
  readonly undelivered: Record<string, number>
  readonly undeliveredSeqs: Record<string, ReadonlyArray<number>>
  readonly received: Record<string, Received>
}

/** `1-3,7`: numbers as ranges. */
const ranges = (ns: Iterable<number>): string =>
  [...ns]
    .sort((x, y) => x - y)
    .reduce<Array<[number, number]>>((out, n) => {
      const last = out[out.length - 1]
      if (last !== undefined && last[1] === n - 1) last[1] = n
      else out.push([n, n])
      return out
    }, [])
    .map(([x, y]) => (x === y ? `${x}` : `${x}-${y}`))
    .join(",")

/**
 * Every number `from` sent to `to` arrived once or is a dead letter on `from` naming it: the numbers that are
 * neither (lost silently), duplicates, and the books described.
 *
 * @example
 * const { lost, duplicates, books } = accounting(reportOfA, "a", reportOfB, "b")
 */
export const accounting = (from: Tally, fromName: string, to: Tally, toName: string) => {
  const book = `${toName}/${to.incarnation}`
  const sent = from.sent[book] ?? 0
  const got = to.received[`${fromName}/${from.incarnation}`] ?? { count: 0, duplicates: 0, missing: 0 }
  const dead = new Set(from.undeliveredSeqs[book] ?? [])
  const gaps = new Set(got.gaps ?? [])
  const last = got.count + got.missing // the highest number received
  const lost: Array<number> = []
  for (let n = 1; n <= sent; n++) if ((n > last || gaps.has(n)) && !dead.has(n)) lost.push(n)
  return {
    lost,
    duplicates: got.duplicates,
    books: `sent ${sent}, received ${got.count} (missing ${got.missing}, duplicates ${got.duplicates}), dead letters ${
      from.undelivered[book] ?? 0
    } (${from.undelivered["?"] ?? 0} not naming their message)`,
    detail: `gaps ${ranges(gaps)}; dead letters ${ranges(dead)}; lost silently ${ranges(lost)}`
  }
}

/**
 * The live incarnation of each peer node, kept from the transport's peer events (each also goes to `onEvent`);
 * `until(condition)` waits until `condition()` holds, checking it again after each event. The check and the
 * start of the wait are one synchronous step: an event that comes between a caller's own look at `live` and a
 * wait for "the next event" would be missed, and the caller would wait for an event that may never come.
 *
 * @example
 * const { live, until } = yield* livePeers(transport, (event) => emit({ event: event._tag }))
 * yield* until(() => live.get("b") !== undefined)
 */
export const livePeers = (
  transport: Transport.Service,
  onEvent: (event: Peer.PeerEvent) => void
): Effect.Effect<
  {
    readonly live: ReadonlyMap<string, Peer.Peer>
    readonly until: (condition: () => boolean) => Effect.Effect<void>
  },
  never,
  Scope.Scope
> =>
  Effect.gen(function* () {
    const live = new Map<string, Peer.Peer>()
    let changed = yield* Deferred.make<void>()
    const events = yield* transport.subscribe
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.gen(function* () {
          const event = yield* PubSub.take(events)
          if (event._tag === "PeerUp") live.set(event.node, { node: event.node, incarnation: event.incarnation })
          else if (live.get(event.node)?.incarnation === event.incarnation) live.delete(event.node)
          onEvent(event)
          const previous = changed
          changed = yield* Deferred.make<void>()
          yield* Deferred.succeed(previous, undefined)
        })
      )
    )
    const until = (condition: () => boolean): Effect.Effect<void> =>
      Effect.suspend(() => {
        const next = changed // taken before the check: an event after the check completes it
        return condition() ? Effect.void : Effect.andThen(Deferred.await(next), until(condition))
      })
    return { live, until }
  })

/**
 * Waits until every link has had all it sent acknowledged and has nothing waiting to be sent.
 *
 * @example
 * case "drain": return drained(transport)
 */
export const drained = (transport: Transport.Service): Effect.Effect<void> =>
  Effect.gen(function* () {
    while (true) {
      const stats = yield* transport.stats
      if (stats.links.every((link) => link.unacknowledged === 0 && link.waiting === 0)) return
      yield* Effect.sleep(20)
    }
  })
